// Each cell's forward and backward step against a hand computation, and padded rows carried.
#include <gtest/gtest.h>

#include <cmath>

#include "cells/elman.hpp"
#include "cells/gru.hpp"
#include "cells/lstm.hpp"

namespace recur {
namespace {

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

TEST(ElmanStep, ForwardIsTanhOfProjectionPlusRecurrencePlusBias) {
  // B = 1, H = 2. weight_hh = [[0.5, -0.25], [0.125, 1.0]], passed transposed too.
  double xw[] = {0.3, -0.1};  // a step may spend it (the LSTM adds into it)
  const double h_prev[] = {0.2, -0.4};
  const double weight_hh[] = {0.5, -0.25, 0.125, 1.0}, weight_hh_t[] = {0.5, 0.125, -0.25, 1.0};
  const double bias[] = {0.05, 0.02};
  double h[2], scratch[2];
  const CellWeights<double> w{Nonlinearity::kTanh, 2, weight_hh, weight_hh_t, bias, nullptr};
  elman_forward(w,
                ForwardStep<double>{1, nullptr, xw, h_prev, nullptr, h, nullptr, nullptr, scratch});
  // Row 0: 0.3 + (0.5*0.2 - 0.25*-0.4) + 0.05 = 0.55; row 1: -0.1 + (0.025 - 0.4) + 0.02.
  EXPECT_NEAR(h[0], std::tanh(0.55), 1e-15);
  EXPECT_NEAR(h[1], std::tanh(-0.455), 1e-15);

  const CellWeights<double> relu{Nonlinearity::kRelu, 2, weight_hh, weight_hh_t, bias, nullptr};
  elman_forward(relu,
                ForwardStep<double>{1, nullptr, xw, h_prev, nullptr, h, nullptr, nullptr, scratch});
  EXPECT_DOUBLE_EQ(h[0], 0.55);
  EXPECT_EQ(h[1], 0.0);  // -0.455 clamped
}

TEST(ElmanStep, BackwardAppliesTheDerivativeAndPadsPassThrough) {
  // B = 2, H = 2; row 1 is padding at this step. dLoss/dh(t) = dh_out + dh_next.
  const double h[] = {0.5, -0.2, 0.9, 0.9}, dh_out[] = {1.0, 0.5, 3.0, -4.0};
  double dh_next[] = {0.5, 0.5, 0.0, 0.0};
  const unsigned char active[] = {1, 0};
  double dxw[4];
  const CellWeights<double> w{Nonlinearity::kTanh, 2, nullptr, nullptr, nullptr, nullptr};
  EXPECT_TRUE(
      elman_backward(w, BackwardStep<double>{2, active, nullptr, nullptr, nullptr, h, nullptr,
                                             dh_out, 2, nullptr, dxw, dxw, dh_next}));
  EXPECT_DOUBLE_EQ(dxw[0], 0.75 * 1.5);
  EXPECT_DOUBLE_EQ(dxw[1], 0.96 * 1.0);
  EXPECT_EQ(dh_next[0], 0.0);  // all of a real row's gradient goes through W_hh
  EXPECT_EQ(dxw[2], 0.0);      // padding: no gate gradient, dh passes to t-1 as it is
  EXPECT_EQ(dh_next[2], 3.0);
  EXPECT_EQ(dh_next[3], -4.0);
}

TEST(LstmStep, OneUnitByHand) {
  // H = 1: gates i, f, g, o. weight_hh = [0.1, -0.2, 0.3, 0.4] (4 x 1), its own transpose.
  double xw[] = {0.5, -0.3, 0.8, 0.1};
  const double weight_hh[] = {0.1, -0.2, 0.3, 0.4};
  const double bias[] = {0.01, 0.02, 0.03, 0.04}, h_prev[] = {0.6}, c_prev[] = {-0.7};
  double h[1], c[1], cache[1], scratch[4];
  const CellWeights<double> w{Nonlinearity::kTanh, 1, weight_hh, weight_hh, bias, nullptr};
  lstm_forward(w, ForwardStep<double>{1, nullptr, xw, h_prev, c_prev, h, c, cache, scratch});
  const double i = sigmoid(0.5 + 0.06 + 0.01), f = sigmoid(-0.3 - 0.12 + 0.02);
  const double g = std::tanh(0.8 + 0.18 + 0.03), o = sigmoid(0.1 + 0.24 + 0.04);
  const double c_new = f * -0.7 + i * g;
  EXPECT_NEAR(c[0], c_new, 1e-15);
  EXPECT_NEAR(h[0], o * std::tanh(c_new), 1e-15);
  // The gates in xw's place, where backward reads them and leaves their gradients.
  EXPECT_NEAR(xw[0], i, 1e-15);
  EXPECT_NEAR(xw[1], f, 1e-15);
  EXPECT_NEAR(xw[2], g, 1e-15);
  EXPECT_NEAR(xw[3], o, 1e-15);

  const double dh_out[] = {1.5};
  double dc[] = {-1.0}, dh_next[] = {0.5};  // dLoss/dh(t) = 2
  double* dxw = xw;
  const bool direct = lstm_backward(w, BackwardStep<double>{1, nullptr, cache, h_prev, c_prev, h, c,
                                                            dh_out, 1, dc, dxw, dxw, dh_next});
  const double tc = std::tanh(c_new), dc_t = -1.0 + 2.0 * o * (1 - tc * tc);
  EXPECT_NEAR(dxw[0], dc_t * g * i * (1 - i), 1e-15);
  EXPECT_NEAR(dxw[1], dc_t * -0.7 * f * (1 - f), 1e-15);
  EXPECT_NEAR(dxw[2], dc_t * i * (1 - g * g), 1e-15);
  EXPECT_NEAR(dxw[3], 2.0 * tc * o * (1 - o), 1e-15);
  EXPECT_NEAR(dc[0], dc_t * f, 1e-15);
  EXPECT_FALSE(direct);  // all of dh(t-1) passes through W_hh
}

TEST(GruStep, OneUnitByHand) {
  // H = 1: gates r, z, n; b_hn sits inside r * (W_hn h + b_hn).
  double xw[] = {0.5, -0.3, 0.8};
  const double weight_hh[] = {0.1, -0.2, 0.3};
  const double b_ih[] = {0.01, 0.02, 0.03}, b_hh[] = {-0.04, 0.05, -0.06}, h_prev[] = {0.6};
  double h[1], cache[1], scratch[3];
  const CellWeights<double> w{Nonlinearity::kTanh, 1, weight_hh, weight_hh, b_ih, b_hh};
  gru_forward(w, ForwardStep<double>{1, nullptr, xw, h_prev, nullptr, h, nullptr, cache, scratch});
  const double r = sigmoid(0.5 + 0.01 + 0.06 - 0.04), z = sigmoid(-0.3 + 0.02 - 0.12 + 0.05);
  const double hn = 0.18 - 0.06, n = std::tanh(0.8 + 0.03 + r * hn);
  EXPECT_NEAR(h[0], (1 - z) * n + z * 0.6, 1e-15);
  EXPECT_NEAR(xw[0], r, 1e-15);  // the gates in xw's place, for backward
  EXPECT_NEAR(xw[1], z, 1e-15);
  EXPECT_NEAR(xw[2], n, 1e-15);

  const double dh_out[] = {2.0};
  double dhw[1], dh_next[] = {0.0};  // dhw: n's part (r's and z's are dxw's)
  double* dxw = xw;
  EXPECT_TRUE(gru_backward(w, BackwardStep<double>{1, nullptr, cache, h_prev, nullptr, h, nullptr,
                                                   dh_out, 1, nullptr, dxw, dhw, dh_next}));
  const double dn = 2.0 * (1 - z) * (1 - n * n), dr = dn * hn * r * (1 - r);
  EXPECT_NEAR(dxw[0], dr, 1e-15);
  EXPECT_NEAR(dxw[1], 2.0 * (0.6 - n) * z * (1 - z), 1e-15);
  EXPECT_NEAR(dxw[2], dn, 1e-15);
  EXPECT_NEAR(dhw[0], dn * r, 1e-15);
  EXPECT_NEAR(dh_next[0], 2.0 * z, 1e-15);
}

TEST(GruStep, PaddedRowCarriesItsState) {
  double xw[] = {0.5, -0.3, 0.8, 9.0, 9.0, 9.0};
  const double weight_hh[] = {0.1, -0.2, 0.3};
  const double b[] = {0, 0, 0}, h_prev[] = {0.6, -0.25};
  const unsigned char active[] = {1, 0};
  double h[2], cache[2], scratch[6];
  const CellWeights<double> w{Nonlinearity::kTanh, 1, weight_hh, weight_hh, b, b};
  gru_forward(w, ForwardStep<double>{2, active, xw, h_prev, nullptr, h, nullptr, cache, scratch});
  EXPECT_NE(h[0], 0.6);
  EXPECT_EQ(h[1], -0.25);
}

}  // namespace
}  // namespace recur
