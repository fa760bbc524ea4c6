// Arrays printed the way numpy prints them: str(array) under numpy's default print options.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace recur::cli {

// str(a) for a float64 array of the given shape in C order, as numpy 1.x prints it with its
// defaults: precision 8 in 'maxprec' float mode, lines wrapped at 75 columns, arrays over 1000
// elements summarised with 3 edge items, scientific notation when the largest magnitude is
// >= 1e8 or the smallest non-zero one is < 1e-4 or they differ by more than 1000x.
std::string numpy_str(std::span<const double> data, const std::vector<int>& shape);

// Python's f"{value:.{digits}f}", including 'nan' and 'inf'.
std::string python_fixed(double value, int digits);

}  // namespace recur::cli
