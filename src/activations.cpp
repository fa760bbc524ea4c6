#include "activations.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace recur {

namespace {

// expm1(y) for y in [0, 44]: y = k ln2 + r with |r| <= ln2 / 2, then
// expm1(y) = 2^k expm1(r) + (2^k - 1), with expm1(r) by its Taylor series to r^13 / 13!
// (truncation below 2e-17 relative on that interval).
inline double expm1_nonnegative(double y) {
  constexpr double kInvLn2 = 1.4426950408889634;
  constexpr double kLn2High = 6.93147180369123816490e-01;  // few bits: k * kLn2High is exact
  constexpr double kLn2Low = 1.90821492927058770002e-10;
  constexpr double kShifter = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer
  const double shifted = y * kInvLn2 + kShifter;
  const double k = shifted - kShifter;
  const std::uint64_t k_bits = std::bit_cast<std::uint64_t>(shifted);  // k in the low bits
  const double scale = std::bit_cast<double>((k_bits + 1023) << 52);  // 2^k
  const double r = (y - k * kLn2High) - k * kLn2Low;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  const double expm1_r = r + (r * r) * p;
  return scale * expm1_r + (scale - 1.0);
}

inline double tanh_kernel(double x) {
  // Past |x| = 22, tanh rounds to +-1 and e / (e + 2) gives exactly 1. NaN passes through.
  const double a = std::min(std::abs(x), 22.0);
  const double e = expm1_nonnegative(2.0 * a);
  return std::copysign(e / (e + 2.0), x);
}

}  // namespace

template <typename T>
void add_bias_tanh(int rows, int width, const T* bias, T* v) {
  for (int r = 0; r < rows; ++r) {
    T* row = v + static_cast<long>(r) * width;
    if constexpr (sizeof(T) > sizeof(double)) {  // extended precision: the C library's
      for (int j = 0; j < width; ++j) row[j] = std::tanh(row[j] + bias[j]);
    } else {
      for (int j = 0; j < width; ++j) {
        row[j] = static_cast<T>(tanh_kernel(static_cast<double>(row[j] + bias[j])));
      }
    }
  }
}

template void add_bias_tanh<float>(int, int, const float*, float*);
template void add_bias_tanh<double>(int, int, const double*, double*);
template void add_bias_tanh<long double>(int, int, const long double*, long double*);

}  // namespace recur
