// Network: forward against a hand computation, batches against sequences one by one, errors.
#include "recur/network.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "recur/error.hpp"
#include "recur/loss.hpp"
#include "recur/random.hpp"

namespace recur {
namespace {

void fill(std::span<double> values, NumpyRandom& random, double scale) {
  for (double& v : values) v = scale * random.randn();
}

TEST(Network, LayoutIsPyTorchsOrientationInOneBuffer) {
  Network<float> net({3, 5, 2});
  const auto& t = net.tensors();
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].name, "rnn.weight_ih_l0");
  EXPECT_EQ(t[0].shape, (std::vector<int>{5, 3}));
  EXPECT_EQ(t[1].shape, (std::vector<int>{5, 5}));
  EXPECT_EQ(t[2].shape, (std::vector<int>{5}));
  EXPECT_EQ(t[3].name, "readout.weight");
  EXPECT_EQ(t[3].shape, (std::vector<int>{2, 5}));
  EXPECT_EQ(t[4].shape, (std::vector<int>{2}));
  EXPECT_EQ(net.parameters().size(), 15u + 25 + 5 + 10 + 2);
  EXPECT_EQ(net.gradients().size(), net.parameters().size());
  EXPECT_EQ(net.parameter("rnn.bias_l0").data(), net.parameters().data() + 40);
  EXPECT_THROW(net.parameter("rnn.bias"), Error);
}

TEST(Network, TwoStepsMatchHandComputation) {
  // I = 1, H = 2, O = 1, one sequence of two steps.
  Network<double> net({1, 2, 1});
  const std::vector<double> w_ih = {0.5, -1.0}, w_hh = {0.1, 0.2, -0.3, 0.4}, b = {0.05, -0.05};
  const std::vector<double> w_o = {1.5, -0.5}, c = {0.25};
  std::copy(w_ih.begin(), w_ih.end(), net.parameter("rnn.weight_ih_l0").begin());
  std::copy(w_hh.begin(), w_hh.end(), net.parameter("rnn.weight_hh_l0").begin());
  std::copy(b.begin(), b.end(), net.parameter("rnn.bias_l0").begin());
  std::copy(w_o.begin(), w_o.end(), net.parameter("readout.weight").begin());
  std::copy(c.begin(), c.end(), net.parameter("readout.bias").begin());
  const std::vector<double> x = {2.0, -1.0};
  const auto y = net.forward(x, 2, 1);

  const double h1[] = {std::tanh(0.5 * 2.0 + 0.05), std::tanh(-1.0 * 2.0 - 0.05)};
  const double h2[] = {std::tanh(0.5 * -1.0 + (0.1 * h1[0] + 0.2 * h1[1]) + 0.05),
                       std::tanh(-1.0 * -1.0 + (-0.3 * h1[0] + 0.4 * h1[1]) - 0.05)};
  EXPECT_NEAR(y[0], 1.5 * h1[0] - 0.5 * h1[1] + 0.25, 1e-15);
  EXPECT_NEAR(y[1], 1.5 * h2[0] - 0.5 * h2[1] + 0.25, 1e-15);
  EXPECT_NEAR(net.hidden()[2], h2[0], 1e-15);
  EXPECT_NEAR(net.hidden()[3], h2[1], 1e-15);
}

TEST(Network, BatchGivesTheSameAsSequencesOneByOne) {
  const int T = 6, B = 4, I = 3, H = 5, O = 2;
  NumpyRandom random(3);
  Network<double> net({I, H, O});
  fill(net.parameters(), random, 0.5);
  std::vector<double> x(T * B * I), dy(T * B * O);
  fill(x, random, 1.0);
  fill(dy, random, 1.0);

  const auto y_view = net.forward(x, T, B);
  const std::vector<double> y_batch(y_view.begin(), y_view.end());
  net.backward(dy);
  const std::vector<double> grads_batch(net.gradients().begin(), net.gradients().end());

  std::vector<double> grads_sum(grads_batch.size(), 0.0);
  for (int b = 0; b < B; ++b) {
    std::vector<double> xb(T * I), dyb(T * O);
    for (int t = 0; t < T; ++t) {
      for (int i = 0; i < I; ++i) xb[t * I + i] = x[(t * B + b) * I + i];
      for (int o = 0; o < O; ++o) dyb[t * O + o] = dy[(t * B + b) * O + o];
    }
    const auto y = net.forward(xb, T, 1);
    for (int t = 0; t < T; ++t) {
      for (int o = 0; o < O; ++o) EXPECT_NEAR(y[t * O + o], y_batch[(t * B + b) * O + o], 1e-14);
    }
    net.backward(dyb);
    for (std::size_t i = 0; i < grads_sum.size(); ++i) grads_sum[i] += net.gradients()[i];
  }
  for (std::size_t i = 0; i < grads_sum.size(); ++i) {
    EXPECT_NEAR(grads_sum[i], grads_batch[i], 1e-12) << "parameter " << i;
  }
}

TEST(Network, PaddedBatchGivesTheSameAsSequencesOneByOne) {
  // Sequences of lengths 5, 2, 7, 1 padded to 7 steps, with garbage in the padding.
  const int T = 7, B = 4, I = 2, H = 6, O = 3;
  const std::vector<int> lengths = {5, 2, 7, 1};
  NumpyRandom random(8);
  Network<double> net({I, H, O});
  fill(net.parameters(), random, 0.5);
  std::vector<double> x(T * B * I), target(T * B * O), dy(T * B * O);
  fill(x, random, 1.0);
  fill(target, random, 1.0);

  const auto y_view = net.forward(x, T, B, lengths);
  const std::vector<double> y_batch(y_view.begin(), y_view.end());
  const double loss_batch = masked_loss<double>(LossKind::kSse, y_batch, target, dy, T, B, lengths);
  net.backward(dy);
  const std::vector<double> grads_batch(net.gradients().begin(), net.gradients().end());

  double loss_sum = 0.0;
  std::vector<double> grads_sum(grads_batch.size(), 0.0);
  for (int b = 0; b < B; ++b) {
    const int len = lengths[b];
    std::vector<double> xb(len * I), tb(len * O), dyb(len * O);
    for (int t = 0; t < len; ++t) {
      for (int i = 0; i < I; ++i) xb[t * I + i] = x[(t * B + b) * I + i];
      for (int o = 0; o < O; ++o) tb[t * O + o] = target[(t * B + b) * O + o];
    }
    const auto y = net.forward(xb, len, 1);
    for (int t = 0; t < T; ++t) {
      for (int o = 0; o < O; ++o) {
        const double expected = t < len ? y[t * O + o] : 0.0;  // padding reads as 0
        EXPECT_NEAR(y_batch[(t * B + b) * O + o], expected, 1e-14);
      }
    }
    loss_sum += sse_loss<double>(y, tb, dyb);
    net.backward(dyb);
    for (std::size_t i = 0; i < grads_sum.size(); ++i) grads_sum[i] += net.gradients()[i];
  }
  EXPECT_NEAR(loss_batch, loss_sum, 1e-12);
  for (std::size_t i = 0; i < grads_sum.size(); ++i) {
    EXPECT_NEAR(grads_sum[i], grads_batch[i], 1e-12) << "parameter " << i;
  }
}

TEST(Network, BackwardIgnoresDyAtPaddedSteps) {
  NumpyRandom random(2);
  Network<float> net({1, 3, 1});
  for (float& p : net.parameters()) p = static_cast<float>(random.randn());
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, 4.0f};  // [2, 2, 1]
  const std::vector<int> lengths = {2, 1};
  net.forward(x, 2, 2, lengths);
  net.backward(std::vector<float>{1.0f, 1.0f, 1.0f, 0.0f});
  const std::vector<float> clean(net.gradients().begin(), net.gradients().end());
  net.forward(x, 2, 2, lengths);
  net.backward(std::vector<float>{1.0f, 1.0f, 1.0f, 1e6f});  // step 1 of sequence 1 is padding
  for (std::size_t i = 0; i < clean.size(); ++i) EXPECT_EQ(net.gradients()[i], clean[i]);
}

TEST(Network, CarryingTheStateAcrossCallsEqualsOneCall) {
  // Sequences of lengths 7, 2, 5 run whole, then as steps 0-2 and 3-6 with the state carried.
  const int T = 7, B = 3, I = 2, H = 4, O = 2;
  const std::vector<int> lengths = {7, 2, 5};
  NumpyRandom random(12);
  Network<double> net({I, H, O});
  fill(net.parameters(), random, 0.6);
  std::vector<double> x(T * B * I), h0(B * H);
  fill(x, random, 1.0);
  fill(h0, random, 0.5);
  const auto whole_view = net.forward(x, T, B, lengths, h0);
  const std::vector<double> whole(whole_view.begin(), whole_view.end());
  std::vector<double> whole_state(B * H);
  net.final_state(whole_state);

  const int split = 3;
  const std::vector<double> x1(x.begin(), x.begin() + split * B * I);
  const std::vector<double> x2(x.begin() + split * B * I, x.end());
  const std::vector<int> lengths1 = {3, 2, 3}, lengths2 = {4, 0, 2};
  const auto y1 = net.forward(x1, split, B, lengths1, h0);
  for (std::size_t i = 0; i < y1.size(); ++i) EXPECT_NEAR(y1[i], whole[i], 1e-14);
  std::vector<double> carried(B * H);
  net.final_state(carried);
  const auto y2 = net.forward(x2, T - split, B, lengths2, carried);
  for (std::size_t i = 0; i < y2.size(); ++i) {
    EXPECT_NEAR(y2[i], whole[split * B * O + i], 1e-14) << i;
  }
  std::vector<double> end_state(B * H);
  net.final_state(end_state);
  for (int i = 0; i < B * H; ++i) EXPECT_NEAR(end_state[i], whole_state[i], 1e-14);
  // Sequence 1 (length 0 in the second call) keeps the state it came in with.
  for (int j = 0; j < H; ++j) EXPECT_EQ(end_state[H + j], carried[H + j]);
}

TEST(Network, WorkspaceReuseAcrossShapesChangesNothing) {
  NumpyRandom random(5);
  Network<float> net({2, 4, 2});
  for (float& p : net.parameters()) p = static_cast<float>(0.3 * random.randn());
  std::vector<float> short_x(3 * 2 * 2), long_x(9 * 3 * 2);
  for (float& v : short_x) v = static_cast<float>(random.randn());
  for (float& v : long_x) v = static_cast<float>(random.randn());
  const auto fresh = net.forward(short_x, 3, 2);
  const std::vector<float> first(fresh.begin(), fresh.end());
  net.forward(long_x, 9, 3);
  const auto again = net.forward(short_x, 3, 2);
  ASSERT_EQ(again.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(again[i], first[i]);
}

TEST(Network, RejectsBadSizesAndCalls) {
  EXPECT_THROW(Network<double>({0, 4, 1}), Error);
  EXPECT_THROW(Network<double>({1, -4, 1}), Error);
  EXPECT_THROW(Network<double>({1, 4, 0}), Error);
  Network<double> net({2, 3, 1});
  const std::vector<double> dy(4);
  EXPECT_THROW(net.backward(dy), Error);  // before any forward
  const std::vector<double> x(5);
  EXPECT_THROW(net.forward(x, 2, 1), Error);  // 5 values for [2, 1, 2]
  EXPECT_THROW(net.forward(x, 0, 1), Error);
  const std::vector<double> good(4);
  net.forward(good, 2, 1);
  EXPECT_THROW(net.backward(std::vector<double>(3)), Error);
  EXPECT_THROW(net.forward(good, 2, 1, std::vector<int>{3}), Error);         // longer than seq_len
  EXPECT_THROW(net.forward(good, 2, 1, std::vector<int>{-1}), Error);        // negative length
  EXPECT_THROW(net.forward(good, 2, 1, {}, std::vector<double>(2)), Error);  // h0: 2, not 3
  EXPECT_THROW(net.forward(good, 1, 2, std::vector<int>{1}), Error);         // one length for two
}

// Backward spends the forward's gates (it leaves their gradients in their place), so a
// second backward must refuse rather than read gradients as gates; a new forward makes them
// again, and the same backward then gives the same gradients as the first.
TEST(Network, BackwardRunsOnceAForward) {
  for (const CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    NetworkConfig config{3, 40, 2};
    config.cell = cell;
    Network<float> net(config);
    std::vector<float> x(5 * 4 * 3), dy(5 * 4 * 2);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.7 * i));
    for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = static_cast<float>(std::cos(0.3 * i));
    net.forward(x, 5, 4);
    net.backward(dy);
    const std::vector<float> first(net.gradients().begin(), net.gradients().end());
    EXPECT_THROW(net.backward(dy), Error);
    net.forward(x, 5, 4);
    net.backward(dy);
    ASSERT_EQ(net.gradients().size(), first.size());
    for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(net.gradients()[i], first[i]);
  }
}

}  // namespace
}  // namespace recur
