// recur's own tanh against the C library's, over the whole range and at the edges.
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

TEST(Tanh, FloatIsTheDoubleResultRounded) {
  std::vector<float> v = {-3.0f, -0.1f, 0.0f, 0.3f, 2.5f, 9.0f};
  const std::vector<float> expected_input = v;
  const std::vector<float> bias(6, 0.0f);
  add_bias_tanh(1, 6, bias.data(), v.data());
  for (std::size_t i = 0; i < v.size(); ++i) {
    EXPECT_NEAR(v[i], std::tanh(static_cast<double>(expected_input[i])), 1e-7);
  }
}

}  // namespace
}  // namespace recur
