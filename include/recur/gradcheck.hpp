// Gradient checking: BPTT gradients against central finite differences of the SSE loss.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "recur/network.hpp"

namespace recur {

// dLoss/dparameters by central differences, (L(p + eps) - L(p - eps)) / (2 eps), one parameter
// at a time, in double, for the SSE loss of `network` on (x, target) [seq_len, batch, *].
// Leaves the parameters as they were. Same layout as network.gradients().
std::vector<double> numeric_gradients(Network<double>& network, std::span<const double> x,
                                      std::span<const double> target, int seq_len,
                                      int batch_size, double eps);

struct TensorError {
  std::string name;
  double max_relative_error = 0.0;
};

// For each tensor of `tensors`, the largest |analytic - numeric| / max(|analytic|, |numeric|,
// floor) over its elements, where floor = 1e-3 * the tensor's largest |numeric| (and at least
// 1e-12), so that elements near zero are judged against the tensor's own scale rather than
// against finite-difference noise. Both buffers have the layout `tensors` describes.
std::vector<TensorError> compare_gradients(const std::vector<TensorInfo>& tensors,
                                           std::span<const double> analytic,
                                           std::span<const double> numeric);

}  // namespace recur
