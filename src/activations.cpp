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
  const double scale = std::bit_cast<double>((k_bits + 1023) << 52);   // 2^k
  const double r = (y - k * kLn2High) - k * kLn2Low;
  // expm1(r) = r + r^2 (1/2! + r/3! + ... + r^11/13!), the sum by Estrin's scheme: a few
  // independent products instead of one long chain, since one time step's tanh sits on the
  // recurrence's critical path.
  const double r2 = r * r, r4 = r2 * r2;
  const double q0 = 1.0 / 2 + r * (1.0 / 6);
  const double q1 = 1.0 / 24 + r * (1.0 / 120);
  const double q2 = 1.0 / 720 + r * (1.0 / 5040);
  const double q3 = 1.0 / 40320 + r * (1.0 / 362880);
  const double q4 = 1.0 / 3628800 + r * (1.0 / 39916800);
  const double q5 = 1.0 / 479001600 + r * (1.0 / 6227020800);
  const double s0 = q0 + r2 * q1, s1 = q2 + r2 * q3, s2 = q4 + r2 * q5;
  const double p = s0 + r4 * (s1 + r4 * s2);
  const double expm1_r = r + r2 * p;
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

template <typename T>
void add_bias_relu(int rows, int width, const T* bias, T* v) {
  for (int r = 0; r < rows; ++r) {
    T* row = v + static_cast<long>(r) * width;
    for (int j = 0; j < width; ++j) {
      const T a = row[j] + bias[j];
      row[j] = a < T(0) ? T(0) : a;
    }
  }
}

template void add_bias_relu<float>(int, int, const float*, float*);
template void add_bias_relu<double>(int, int, const double*, double*);
template void add_bias_relu<long double>(int, int, const long double*, long double*);
template void add_bias_tanh<float>(int, int, const float*, float*);
template void add_bias_tanh<double>(int, int, const double*, double*);
template void add_bias_tanh<long double>(int, int, const long double*, long double*);

}  // namespace recur
