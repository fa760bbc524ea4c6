// Initialisers against their definitions: bounds, spread, orthogonality, the seed's stream.
#include "recur/init.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "recur/error.hpp"

namespace recur {
namespace {

double max_abs(std::span<const double> v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

TEST(Init, PytorchIsUniformOnPlusMinusOneOverSqrtHidden) {
  Network<double> net({3, 64, 2});
  NumpyRandom random(1);
  init_pytorch(net, random);
  const double bound = 1.0 / 8.0;
  EXPECT_LE(max_abs(net.parameters()), bound);
  EXPECT_GT(max_abs(net.parameters()), 0.95 * bound);
  double sum_sq = 0;
  for (double p : net.parameters()) sum_sq += p * p;
  // Variance of U(-b, b) is b^2 / 3.
  EXPECT_NEAR(sum_sq / net.parameters().size(), bound * bound / 3, 0.1 * bound * bound / 3);
}

TEST(Init, XavierBoundsPerTensorAndZeroBiases) {
  Network<double> net({10, 30, 5});
  NumpyRandom random(2);
  init_xavier(net, random);
  EXPECT_LE(max_abs(net.parameter("rnn.weight_ih_l0")), std::sqrt(6.0 / 40));
  EXPECT_GT(max_abs(net.parameter("rnn.weight_ih_l0")), 0.9 * std::sqrt(6.0 / 40));
  EXPECT_LE(max_abs(net.parameter("rnn.weight_hh_l0")), std::sqrt(6.0 / 60));
  EXPECT_LE(max_abs(net.parameter("readout.weight")), std::sqrt(6.0 / 35));
  EXPECT_EQ(max_abs(net.parameter("rnn.bias_l0")), 0.0);
  EXPECT_EQ(max_abs(net.parameter("readout.bias")), 0.0);
}

TEST(Init, OrthogonalRecurrentWeights) {
  const int H = 24;
  Network<double> net({3, H, 2});
  NumpyRandom random(3);
  init_orthogonal(net, random);
  const auto w = net.parameter("rnn.weight_hh_l0");
  for (int i = 0; i < H; ++i) {
    for (int j = 0; j < H; ++j) {
      double dot = 0;
      for (int k = 0; k < H; ++k) dot += w[i * H + k] * w[j * H + k];
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12);
    }
  }
  EXPECT_LE(max_abs(net.parameter("rnn.weight_ih_l0")), std::sqrt(6.0 / (3 + H)));
}

TEST(Init, GatedCellsGetAnOrthogonalBlockPerGateAndTheReadoutItsOwnFanIn) {
  const int H = 6;
  const NetworkConfig config{2, H, 3, Nonlinearity::kTanh, CellKind::kLstm, 2, true};
  Network<double> net(config);
  NumpyRandom random(4);
  init_orthogonal(net, random);
  const auto w = net.parameter("rnn.weight_hh_l1_reverse");  // [4H, H]
  for (int gate = 0; gate < 4; ++gate) {
    for (int i = 0; i < H; ++i) {
      for (int j = 0; j < H; ++j) {
        double dot = 0;
        for (int k = 0; k < H; ++k) dot += w[(gate * H + i) * H + k] * w[(gate * H + j) * H + k];
        EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12);
      }
    }
  }
  init_pytorch(net, random);  // nn.Linear(2H, O): bound 1/sqrt(2H), the LSTM's 1/sqrt(H)
  EXPECT_LE(max_abs(net.parameter("readout.weight")), 1.0 / std::sqrt(2.0 * H));
  EXPECT_GT(max_abs(net.parameter("rnn.weight_ih_l1")), 1.0 / std::sqrt(2.0 * H));
  EXPECT_LE(max_abs(net.parameter("rnn.weight_ih_l1")), 1.0 / std::sqrt(1.0 * H));
}

TEST(Init, NumpyMethodIsTheSeedsInitialisation) {
  Network<double> a({1, 8, 1}), b({1, 8, 1});
  NumpyRandom ra(42), rb(42);
  initialize(a, InitMethod::kNumpy, ra);
  init_numpy(b, rb, 0.01);
  EXPECT_TRUE(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  EXPECT_EQ(parse_init_method("orthogonal"), InitMethod::kOrthogonal);
  EXPECT_THROW(parse_init_method("he"), Error);
}

}  // namespace
}  // namespace recur
