// recur's own tanh and sigmoid against the C library's, over the whole range and at the edges,
// in double and in float.
#include "activations.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "recur/random.hpp"

namespace recur {
namespace {

double ulps(double actual, double expected) {
  if (actual == expected) return 0.0;
  const double ulp = std::nextafter(std::abs(expected), INFINITY) - std::abs(expected);
  return std::abs(actual - expected) / ulp;
}

TEST(Tanh, WithinFourUlpsOfTheCLibrary) {
  NumpyRandom random(1);
  std::vector<double> x;
  for (int i = 0; i < 200000; ++i) {
    const double magnitude = std::pow(10.0, -12.0 + 13.5 * random.random_sample());  // 1e-12..30
    x.push_back(random.random_sample() < 0.5 ? -magnitude : magnitude);
  }
  std::vector<double> y = x;
  const std::vector<double> zero_bias(y.size(), 0.0);
  add_bias_tanh(1, static_cast<int>(y.size()), zero_bias.data(), y.data());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulps(y[i], std::tanh(x[i])));
  EXPECT_LE(worst, 4.0);
}

TEST(Tanh, EdgesAndBias) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {0.0, 22.0, -40.0, inf, -inf, std::nan(""), 1e-300, 0.5};
  const std::vector<double> bias = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25};
  add_bias_tanh(1, 8, bias.data(), v.data());
  EXPECT_EQ(v[0], 0.0);
  EXPECT_EQ(v[1], 1.0);
  EXPECT_EQ(v[2], -1.0);
  EXPECT_EQ(v[3], 1.0);
  EXPECT_EQ(v[4], -1.0);
  EXPECT_TRUE(std::isnan(v[5]));
  EXPECT_EQ(v[6], 1e-300);
  EXPECT_LE(ulps(v[7], std::tanh(0.75)), 4.0);
}

float float_ulps(float actual, double expected) {
  const auto target = static_cast<float>(expected);
  if (actual == target) return 0.0f;
  const float ulp = std::nextafter(std::abs(target), INFINITY) - std::abs(target);
  return static_cast<float>(std::abs(static_cast<double>(actual) - expected) / ulp);
}

std::vector<double> spread(NumpyRandom& random, double low_exponent, double high_exponent) {
  std::vector<double> x;
  for (int i = 0; i < 200000; ++i) {
    const double magnitude =
        std::pow(10.0, low_exponent + (high_exponent - low_exponent) * random.random_sample());
    x.push_back(random.random_sample() < 0.5 ? -magnitude : magnitude);
  }
  return x;
}

TEST(Sigmoid, DoubleWithinFourUlpsOfTheDefinition) {
  NumpyRandom random(2);
  double worst = 0.0;
  for (double x : spread(random, -12.0, 2.8)) {  // 1e-12 .. 630
    const long double exact = 1.0L / (1.0L + std::exp(-static_cast<long double>(x)));
    worst = std::max(worst, ulps(sigmoid_of(x), static_cast<double>(exact)));
  }
  EXPECT_LE(worst, 4.0);
  EXPECT_EQ(sigmoid_of(0.0), 0.5);
  EXPECT_EQ(sigmoid_of(1000.0), 1.0);
  EXPECT_TRUE(std::isnan(sigmoid_of(std::nan(""))));
}

TEST(FloatActivations, WithinFourFloatUlpsOfTheExactValues) {
  NumpyRandom random(3);
  float worst_tanh = 0.0f, worst_sigmoid = 0.0f;
  for (double wide : spread(random, -8.0, 1.9)) {  // 1e-8 .. 80
    const auto x = static_cast<float>(wide);
    const double exact_x = x;  // the float input, exactly
    worst_tanh = std::max(worst_tanh, float_ulps(tanh_of(x), std::tanh(exact_x)));
    worst_sigmoid =
        std::max(worst_sigmoid, float_ulps(sigmoid_of(x), 1.0 / (1.0 + std::exp(-exact_x))));
  }
  EXPECT_LE(worst_tanh, 4.0f);
  EXPECT_LE(worst_sigmoid, 4.0f);
  EXPECT_EQ(tanh_of(20.0f), 1.0f);
  EXPECT_EQ(tanh_of(-20.0f), -1.0f);
  EXPECT_TRUE(std::isnan(tanh_of(std::nanf(""))));
  EXPECT_EQ(sigmoid_of(0.0f), 0.5f);
}

// The short form the small Elman loops use on |x| <= 1.25, against long double's tanh.
TEST(TanhShort, WithinFourUlpsOnItsRangeInBothPrecisions) {
  NumpyRandom random(4);
  double worst = 0.0;
  float worst_float = 0.0f;
  std::vector<double> x = spread(random, -12.0, std::log10(detail::kTanhShortRange));
  for (double edge : {0.0, 1e-300, detail::kTanhShortRange, -detail::kTanhShortRange}) {
    x.push_back(edge);
  }
  for (double v : x) {
    const long double exact = std::tanh(static_cast<long double>(v));
    worst = std::max(worst, ulps(detail::tanh_short(v), static_cast<double>(exact)));
    const auto f = static_cast<float>(v);
    worst_float = std::max(worst_float, float_ulps(detail::tanh_short(f), std::tanh(double{f})));
  }
  EXPECT_LE(worst, 4.0);
  EXPECT_LE(worst_float, 4.0f);
  EXPECT_EQ(detail::tanh_short(0.0), 0.0);
  EXPECT_EQ(detail::tanh_short(-1e-300), -1e-300);
}

}  // namespace
}  // namespace recur
