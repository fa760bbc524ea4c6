// The Elman cell's forward and backward step against hand computation.
#include <gtest/gtest.h>

#include <cmath>

#include "cells/elman.hpp"

namespace recur {
namespace {

TEST(ElmanStep, ForwardIsTanhOfProjectionPlusRecurrencePlusBias) {
  // B = 1, H = 2. weight_hh = [[0.5, -0.25], [0.125, 1.0]], passed transposed; h_prev =
  // [0.2, -0.4].
  const double xw[] = {0.3, -0.1};
  const double h_prev[] = {0.2, -0.4};
  const double weight_hh_t[] = {0.5, 0.125, -0.25, 1.0};
  const double bias[] = {0.05, 0.02};
  double h[2];
  elman_forward_step(Nonlinearity::kTanh, 1, 2, xw, h_prev, weight_hh_t, bias, h);
  // Row 0: 0.3 + (0.5*0.2 - 0.25*-0.4) + 0.05 = 0.55; row 1: -0.1 + (0.025 - 0.4) + 0.02.
  EXPECT_NEAR(h[0], std::tanh(0.55), 1e-15);
  EXPECT_NEAR(h[1], std::tanh(-0.455), 1e-15);
}

TEST(ElmanStep, ForwardKeepsBatchRowsApart) {
  const float xw[] = {0.1f, 0.2f, -0.3f, 0.4f};
  const float h_prev[] = {1.0f, 0.0f, 0.0f, 1.0f};
  const float weight_hh_t[] = {0.5f, -0.5f, 0.25f, 2.0f};  // weight_hh = [[.5, .25], [-.5, 2]]
  const float bias[] = {0.0f, 0.0f};
  float h[4];
  elman_forward_step(Nonlinearity::kTanh, 2, 2, xw, h_prev, weight_hh_t, bias, h);
  // Row b of h_prev is the unit vector e_b, so h[b, j] = tanh(xw[b, j] + weight_hh[j, b]).
  EXPECT_FLOAT_EQ(h[0], std::tanh(0.1f + 0.5f));
  EXPECT_FLOAT_EQ(h[1], std::tanh(0.2f - 0.5f));
  EXPECT_FLOAT_EQ(h[2], std::tanh(-0.3f + 0.25f));
  EXPECT_FLOAT_EQ(h[3], std::tanh(0.4f + 2.0f));
}

TEST(ElmanStep, BackwardAppliesTanhDerivativeAndCarriesThroughWeights) {
  const double h[] = {0.5, -0.2};
  const double dh_out[] = {1.0, 2.0};
  const double weight_hh[] = {0.5, -0.25, 0.125, 1.0};
  double dh_next[] = {0.5, -1.0};  // from step t+1
  double da[2];
  elman_backward_step(Nonlinearity::kTanh, 1, 2, h, dh_out, weight_hh, da, dh_next);
  // da = (1 - h^2) * (dh_out + dh_next) = [0.75 * 1.5, 0.96 * 1.0]
  EXPECT_DOUBLE_EQ(da[0], 1.125);
  EXPECT_DOUBLE_EQ(da[1], 0.96);
  // dh_prev = da W_hh: [1.125*0.5 + 0.96*0.125, 1.125*-0.25 + 0.96*1.0]
  EXPECT_DOUBLE_EQ(dh_next[0], 0.5625 + 0.12);
  EXPECT_DOUBLE_EQ(dh_next[1], -0.28125 + 0.96);
}

TEST(ElmanStep, ReluClampsForwardAndGatesBackward) {
  const double xw[] = {0.3, -0.1};
  const double h_prev[] = {0.2, -0.4};
  const double weight_hh_t[] = {0.5, 0.125, -0.25, 1.0};
  const double bias[] = {0.05, 0.02};
  double h[2];
  elman_forward_step(Nonlinearity::kRelu, 1, 2, xw, h_prev, weight_hh_t, bias, h);
  EXPECT_DOUBLE_EQ(h[0], 0.55);  // as in the tanh test, before the nonlinearity
  EXPECT_EQ(h[1], 0.0);          // -0.455 clamped
  const double dh_out[] = {1.0, 2.0};
  const double weight_hh[] = {0.5, -0.25, 0.125, 1.0};
  double dh_next[] = {0.5, -1.0};
  double da[2];
  elman_backward_step(Nonlinearity::kRelu, 1, 2, h, dh_out, weight_hh, da, dh_next);
  EXPECT_EQ(da[0], 1.5);  // h > 0: the gradient passes
  EXPECT_EQ(da[1], 0.0);  // h = 0: it stops
  EXPECT_DOUBLE_EQ(dh_next[0], 1.5 * 0.5);
  EXPECT_DOUBLE_EQ(dh_next[1], 1.5 * -0.25);
}

}  // namespace
}  // namespace recur
