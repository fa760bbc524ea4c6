// Networks small enough for the one-pass kernel (small_elman.hpp: one unidirectional Elman
// layer, input, state and output each within one vector) against the same networks in long
// double, which take the general path: outputs, final states and every gradient agree within
// rounding. Sizes cut through the kernel's edges (1, one under and exactly one vector, for
// each of I, H and O; batches that leave 0-3 rows after the groups of 4), with padded
// sequences, an initial state, relu, weights large enough that tanh leaves the short form's
// range, a network that ran another shape first, and infinite inputs.
#include "small_elman.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "recur/network.hpp"
#include "recur/random.hpp"
#include "reference_network.hpp"

namespace recur {
namespace {

struct Case {
  int I, H, O, T, B;
  Nonlinearity f = Nonlinearity::kTanh;
  bool padded = false;
  bool state0 = false;
  double scale = 0.4;  // weights randn * scale
};

std::string describe(const Case& c, const char* dtype) {
  return std::string(dtype) + " I=" + std::to_string(c.I) + " H=" + std::to_string(c.H) +
         " O=" + std::to_string(c.O) + " T=" + std::to_string(c.T) + " B=" + std::to_string(c.B) +
         " " + nonlinearity_name(c.f) + (c.padded ? " padded" : "") + (c.state0 ? " state0" : "") +
         " scale=" + std::to_string(c.scale);
}

template <typename T>
void expect_matches_reference(const Case& c, double tolerance) {
  const NetworkConfig config{c.I, c.H, c.O, c.f};
  Network<T> fast(config);
  Network<long double> slow(config);
  NumpyRandom random(static_cast<std::uint32_t>(c.I * 1000 + c.H * 100 + c.O * 10 + c.B));
  draw_same_parameters(fast, slow, random, c.scale);
  const std::size_t rows = static_cast<std::size_t>(c.T) * c.B;
  std::vector<T> x(rows * c.I), dy(rows * c.O), h0(fast.state_size(c.B));
  for (T& v : x) v = static_cast<T>(random.randn());
  for (T& v : dy) v = static_cast<T>(random.randn());
  for (T& v : h0) v = static_cast<T>(0.5 * random.randn());
  std::vector<int> lengths;
  if (c.padded) {
    for (int b = 0; b < c.B; ++b) lengths.push_back(b == 0 ? c.T : (b * 5) % (c.T + 1));
  }
  const std::vector<long double> x_slow(x.begin(), x.end()), dy_slow(dy.begin(), dy.end());
  const std::vector<long double> h0_slow(h0.begin(), h0.end());
  {  // a pass of another shape first: nothing of it may remain (gradients are written anew)
    std::vector<T> x_other(static_cast<std::size_t>(c.T + 2) * (c.B + 1) * c.I, T(0.7));
    std::vector<T> dy_other(static_cast<std::size_t>(c.T + 2) * (c.B + 1) * c.O, T(-1.3));
    fast.forward(x_other, c.T + 2, c.B + 1);
    fast.backward(dy_other);
  }
  const auto y = fast.forward(x, c.T, c.B, lengths, c.state0 ? h0 : std::vector<T>{});
  const auto y_slow =
      slow.forward(x_slow, c.T, c.B, lengths, c.state0 ? h0_slow : std::vector<long double>{});
  const std::string what = describe(c, sizeof(T) == sizeof(float) ? "float" : "double");
  ASSERT_EQ(y.size(), y_slow.size()) << what;
  for (std::size_t i = 0; i < y.size(); ++i) {
    ASSERT_NEAR(y[i], static_cast<double>(y_slow[i]), tolerance * (1 + std::abs(y[i])))
        << what << " y[" << i << "]";
  }
  std::vector<T> state(fast.state_size(c.B));
  std::vector<long double> state_slow(state.size());
  fast.final_state(state);
  slow.final_state(state_slow);
  for (std::size_t i = 0; i < state.size(); ++i) {
    ASSERT_NEAR(state[i], static_cast<double>(state_slow[i]), tolerance) << what << " state";
  }
  fast.backward(dy);
  slow.backward(dy_slow);
  double scale = 0;
  for (long double g : slow.gradients()) scale = std::max(scale, std::abs(static_cast<double>(g)));
  for (std::size_t i = 0; i < fast.gradients().size(); ++i) {
    ASSERT_NEAR(fast.gradients()[i], static_cast<double>(slow.gradients()[i]),
                tolerance * (1 + scale))
        << what << " gradient " << i;
  }
}

template <typename T>
void run_cases(double tolerance) {
  constexpr int kLanes = 64 / sizeof(T);
  // These cases do take the one-pass kernel; one size more does not.
  ASSERT_TRUE(small_elman_fits<T>({kLanes, kLanes, kLanes}));
  ASSERT_FALSE(small_elman_fits<T>({kLanes + 1, kLanes, kLanes}));
  ASSERT_FALSE(small_elman_fits<T>({1, 8, 1, Nonlinearity::kTanh, CellKind::kElman, 2}));
  ASSERT_FALSE(small_elman_fits<long double>({1, 8, 1}));
  for (int I : {1, kLanes - 1, kLanes}) {
    for (int H : {1, 3, kLanes - 1, kLanes}) {
      for (int O : {1, kLanes - 1, kLanes}) {
        for (int B : {1, 4, 7}) {
          expect_matches_reference<T>({I, H, O, 6, B}, tolerance);
        }
      }
    }
  }
  for (int B : {1, 2, 3, 5, 9}) {
    expect_matches_reference<T>({2, kLanes, 3, 7, B, Nonlinearity::kTanh, true, true}, tolerance);
    expect_matches_reference<T>({2, 5, 3, 7, B, Nonlinearity::kRelu, true, true}, tolerance);
    expect_matches_reference<T>({kLanes, kLanes, kLanes, 5, B, Nonlinearity::kRelu}, tolerance);
    expect_matches_reference<T>({3, 6, 2, 1, B, Nonlinearity::kTanh, false, true}, tolerance);
    // Large weights: preactivations far outside the short tanh's range, and near it.
    expect_matches_reference<T>({3, 7, 2, 8, B, Nonlinearity::kTanh, true, false, 1.5}, tolerance);
    expect_matches_reference<T>({1, kLanes, 1, 10, B, Nonlinearity::kTanh, false, false, 0.6},
                                tolerance);
  }
}

// An infinite input saturates tanh in the general path (h = +-1, finite outputs); the lanes
// past H, whose weights are zero, must not turn it into NaN here (Inf * 0).
template <typename T>
void expect_infinite_input_saturates() {
  const NetworkConfig config{2, 5, 3};
  Network<T> fast(config);
  Network<long double> slow(config);
  NumpyRandom random(11);
  draw_same_parameters(fast, slow, random, 0.5);
  std::vector<T> x = {T(0.5),
                      std::numeric_limits<T>::infinity(),
                      T(-0.25),
                      T(1),
                      -std::numeric_limits<T>::infinity(),
                      T(2),
                      T(0.1),
                      T(-0.3)};
  const std::vector<long double> x_slow(x.begin(), x.end());
  const auto y = fast.forward(x, 4, 1);
  const auto y_slow = slow.forward(x_slow, 4, 1);
  for (std::size_t i = 0; i < y.size(); ++i) {
    ASSERT_TRUE(std::isfinite(static_cast<double>(y_slow[i])));
    ASSERT_NEAR(y[i], static_cast<double>(y_slow[i]), 1e-5) << "y[" << i << "]";
  }
}

TEST(SmallElman, AnInfiniteInputSaturatesAsInTheGeneralPath) {
  expect_infinite_input_saturates<double>();
  expect_infinite_input_saturates<float>();
}

TEST(SmallElman, DoubleMatchesTheLongDoubleReference) {
  run_cases<double>(1e-12);
}

TEST(SmallElman, FloatMatchesTheLongDoubleReference) {
  run_cases<float>(2e-5);
}

}  // namespace
}  // namespace recur
