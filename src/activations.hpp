// Elementwise activations over whole arrays, written so that the compiler vectorizes them.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace recur {

namespace detail {

// expm1(y) for y in [0, 708]: y = k ln2 + r with |r| <= ln2 / 2, then
// expm1(y) = 2^k expm1(r) + (2^k - 1), with expm1(r) by its Taylor series to r^13 / 13!
// (truncation below 2e-17 relative on that interval).
// a * b + c, fused where the machine has FMA (shorter latency, one rounding); a plain
// multiply and add elsewhere, where std::fma would be a library call.
template <typename T>
inline T fused(T a, T b, T c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

inline double expm1_nonnegative(double y) {
  constexpr double kInvLn2 = 1.4426950408889634;
  constexpr double kLn2High = 6.93147180369123816490e-01;  // few bits: k * kLn2High is exact
  constexpr double kLn2Low = 1.90821492927058770002e-10;
  constexpr double kShifter = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer
  const double shifted = fused(y, kInvLn2, kShifter);
  const double k = shifted - kShifter;
  const std::uint64_t k_bits = std::bit_cast<std::uint64_t>(shifted);  // k in the low bits
  const double scale = std::bit_cast<double>((k_bits + 1023) << 52);   // 2^k
  const double r = (y - k * kLn2High) - k * kLn2Low;
  // expm1(r) = r + r^2 (1/2! + r/3! + ... + r^11/13!), the sum by Estrin's scheme: a few
  // independent products instead of one long chain, since one time step's tanh sits on the
  // recurrence's critical path.
  const double r2 = r * r, r4 = r2 * r2;
  const double q0 = fused(r, 1.0 / 6, 1.0 / 2);
  const double q1 = fused(r, 1.0 / 120, 1.0 / 24);
  const double q2 = fused(r, 1.0 / 5040, 1.0 / 720);
  const double q3 = fused(r, 1.0 / 362880, 1.0 / 40320);
  const double q4 = fused(r, 1.0 / 39916800, 1.0 / 3628800);
  const double q5 = fused(r, 1.0 / 6227020800, 1.0 / 479001600);
  const double s0 = fused(r2, q1, q0), s1 = fused(r2, q3, q2), s2 = fused(r2, q5, q4);
  const double p = fused(r4, fused(r4, s2, s1), s0);
  const double expm1_r = fused(r2, p, r);
  return fused(scale, expm1_r, scale - 1.0);
}

inline double tanh_kernel(double x) {
  // Past |x| = 22, tanh rounds to +-1 and e / (e + 2) gives exactly 1. NaN passes through.
  const double a = std::min(std::abs(x), 22.0);
  const double e = expm1_nonnegative(2.0 * a);
  return std::copysign(e / (e + 2.0), x);
}

// sigmoid(x) = 1 / (1 + e^-x) without cancellation on either side: with E = expm1(|x|),
// (E + 1) / (E + 2) for x >= 0 and 1 / (E + 2) below. Past |x| = 708 it saturates. The
// numerator is chosen before the one division, which gives each lane the same quotient as
// before: written as two quotients, the vectorized loops computed both (18 vdivps in the
// float GRU's gates, now 10), though the small GRU step was level (perf: the gates 9.2% of
// its samples either way; one thread, Zen 5).
inline double sigmoid_kernel(double x) {
  const double e = expm1_nonnegative(std::min(std::abs(x), 708.0));
  return (x >= 0 ? e + 1.0 : 1.0) / (e + 2.0);
}

// The same in float arithmetic, twice as many lanes a vector: expm1(y) for y in [0, 87] by
// the same range reduction and a degree-7 Taylor polynomial (truncation below 2e-8 relative).
inline float expm1_nonnegative_float(float y) {
  constexpr float kInvLn2 = 1.44269504f;
  constexpr float kLn2High = 0.693145752f;  // few bits: k * kLn2High is exact
  constexpr float kLn2Low = 1.42860677e-6f;
  constexpr float kShifter = 12582912.0f;  // 1.5 * 2^23: rounds to an integer
  const float shifted = fused(y, kInvLn2, kShifter);
  const float k = shifted - kShifter;
  const std::uint32_t k_bits = std::bit_cast<std::uint32_t>(shifted) - 0x4B400000u;
  const float scale = std::bit_cast<float>((k_bits + 127u) << 23);  // 2^k
  const float r = (y - k * kLn2High) - k * kLn2Low;
  const float r2 = r * r, r4 = r2 * r2;
  const float q0 = fused(r, 1.0f / 6, 1.0f / 2);
  const float q1 = fused(r, 1.0f / 120, 1.0f / 24);
  const float q2 = fused(r, 1.0f / 5040, 1.0f / 720);
  const float p = fused(r4, q2, fused(r2, q1, q0));
  const float expm1_r = fused(r2, p, r);
  return fused(scale, expm1_r, scale - 1.0f);
}

inline float tanh_kernel_float(float x) {
  // Past |x| = 9, tanh rounds to +-1 in float. NaN passes through.
  const float a = std::min(std::abs(x), 9.0f);
  const float e = expm1_nonnegative_float(2.0f * a);
  return std::copysign(e / (e + 2.0f), x);
}

inline float sigmoid_kernel_float(float x) {
  const float e = expm1_nonnegative_float(std::min(std::abs(x), 87.0f));
  return (x >= 0 ? e + 1.0f : 1.0f) / (e + 2.0f);
}

// tanh(x) for |x| <= kTanhShortRange by Lambert's continued fraction for tanh, cut after the
// term 19 (double) or 11 (float): x P(x^2) / Q(x^2) with integer coefficients. Its truncation
// error on that range is below 5e-18 relative (double) and 5e-9 (float), and with every
// term positive the sums lose nothing; no range reduction, so about half tanh_kernel's
// latency. For loops whose time is the latency of one step's tanh (elman_rows.hpp).
constexpr double kTanhShortRange = 1.25;

inline double tanh_short(double x) {
  const double z = x * x, z2 = z * z, z4 = z2 * z2;
  const double p =
      fused(z2, fused(z2, 55.0, fused(z, 25740.0, 2837835.0)), fused(z, 91891800.0, 654729075.0));
  const double q =
      fused(z4, z + 1485.0,
            fused(z2, fused(z, 315315.0, 18918900.0), fused(z, 310134825.0, 654729075.0)));
  return x * p / q;
}

inline float tanh_short(float x) {
  const float z = x * x, z2 = z * z;
  const float p = fused(z2, 21.0f, fused(z, 1260.0f, 10395.0f));
  const float q = fused(z2, z + 210.0f, fused(z, 4725.0f, 10395.0f));
  return x * p / q;
}

}  // namespace detail

// Scalar tanh and sigmoid for loops the compiler vectorizes: float in float arithmetic (a few
// units in float's last place), double as above, long double (used for finite differences)
// from the C library.
template <typename T>
inline T tanh_of(T x) {
  if constexpr (sizeof(T) > sizeof(double)) {
    return std::tanh(x);
  } else if constexpr (sizeof(T) == sizeof(float)) {
    return detail::tanh_kernel_float(x);
  } else {
    return detail::tanh_kernel(x);
  }
}

template <typename T>
inline T sigmoid_of(T x) {
  if constexpr (sizeof(T) > sizeof(double)) {
    return T(1) / (T(1) + std::exp(-x));
  } else if constexpr (sizeof(T) == sizeof(float)) {
    return detail::sigmoid_kernel_float(x);
  } else {
    return detail::sigmoid_kernel(x);
  }
}

// v[i] = tanh(v[i] + bias[i % width]) for n = rows * width values.
// Accurate to a few units in the last place (double) against the C library's tanh, and
// branch-free: tanh|x| = e / (e + 2) with e = expm1(2|x|), expm1 by Cody-Waite range
// reduction and a degree-13 Taylor polynomial. float is computed in double and rounded;
// long double (used for finite differences) calls the C library.
template <typename T>
void add_bias_tanh(int rows, int width, const T* bias, T* v);

// v[i] = max(v[i] + bias[i % width], 0), NaN kept.
template <typename T>
void add_bias_relu(int rows, int width, const T* bias, T* v);

}  // namespace recur
