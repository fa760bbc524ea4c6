// The SSE loss and SGD against hand computation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "recur/error.hpp"
#include "recur/loss.hpp"
#include "recur/optim.hpp"

namespace recur {
namespace {

TEST(SseLoss, IsHalfTheSumOfSquaresWithResidualGradient) {
  const std::vector<double> y = {1.0, -2.0, 0.5};
  const std::vector<double> target = {0.0, 1.0, 0.5};
  std::vector<double> dy(3);
  EXPECT_DOUBLE_EQ(sse_loss<double>(y, target, dy), 0.5 * (1.0 + 9.0 + 0.0));
  EXPECT_EQ(dy, (std::vector<double>{1.0, -3.0, 0.0}));
}

TEST(SseLoss, FloatAccumulatesInDouble) {
  const std::vector<float> y(1000, 1.001f), target(1000, 1.0f);
  std::vector<float> dy(1000);
  const double diff = static_cast<double>(1.001f - 1.0f);
  EXPECT_NEAR(sse_loss<float>(y, target, dy), 0.5 * 1000 * diff * diff, 1e-15);
}

TEST(SseLoss, RejectsMismatchedSizes) {
  const std::vector<double> y(3), target(2);
  std::vector<double> dy(3);
  EXPECT_THROW(sse_loss<double>(y, target, dy), Error);
}

TEST(MaskedLoss, MseAveragesOverRealValuesOnly) {
  // [T=2, B=2, F=1]; sequence 1 has length 1, so (t=1, b=1) is padding.
  const std::vector<double> y = {1.0, 2.0, 3.0, 100.0};
  const std::vector<double> target = {0.0, 0.0, 0.0, 0.0};
  const std::vector<int> lengths = {2, 1};
  std::vector<double> dy(4);
  EXPECT_DOUBLE_EQ(masked_loss<double>(LossKind::kMse, y, target, dy, 2, 2, lengths),
                   (1.0 + 4.0 + 9.0) / 3.0);
  EXPECT_DOUBLE_EQ(dy[0], 2.0 * 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(dy[2], 2.0 * 3.0 / 3.0);
  EXPECT_EQ(dy[3], 0.0);
  EXPECT_DOUBLE_EQ(masked_loss<double>(LossKind::kSse, y, target, dy, 2, 2, lengths), 7.0);
  EXPECT_EQ(dy[1], 2.0);
  EXPECT_EQ(dy[3], 0.0);
}

TEST(MaskedLoss, WithoutLengthsEqualsTheSeedsLoss) {
  const std::vector<float> y = {0.5f, -1.0f, 2.0f}, target = {0.0f, 1.0f, 1.5f};
  std::vector<float> dy1(3), dy2(3);
  EXPECT_EQ(masked_loss<float>(LossKind::kSse, y, target, dy1, 3, 1, {}),
            sse_loss<float>(y, target, dy2));
  EXPECT_EQ(dy1, dy2);
}

TEST(MaskedLoss, NamesRoundTrip) {
  EXPECT_EQ(parse_loss("mse"), LossKind::kMse);
  EXPECT_STREQ(loss_name(parse_loss("sse")), "sse");
  EXPECT_THROW(parse_loss("huber"), Error);
}

TEST(Optimizer, PlainSgdSubtractsLearningRateTimesGradient) {
  std::vector<double> params = {1.0, -1.0, 0.25};
  const std::vector<double> grads = {0.5, -2.0, 0.0};
  Optimizer<double>({OptimizerKind::kSgd, 0.1}, 3).step(params, grads);
  EXPECT_DOUBLE_EQ(params[0], 1.0 - 0.1 * 0.5);
  EXPECT_DOUBLE_EQ(params[1], -1.0 + 0.1 * 2.0);
  EXPECT_DOUBLE_EQ(params[2], 0.25);
}

TEST(Optimizer, RejectsSettingsOutOfRange) {
  using Settings = OptimizerSettings;
  EXPECT_THROW(Optimizer<float>(Settings{OptimizerKind::kSgd, 0.0}, 1), Error);
  EXPECT_THROW(Optimizer<float>(Settings{OptimizerKind::kAdam, -1.0}, 1), Error);
  EXPECT_THROW(Optimizer<double>(Settings{OptimizerKind::kSgd, NAN}, 1), Error);
  EXPECT_THROW(Optimizer<double>(Settings{OptimizerKind::kSgd, INFINITY}, 1), Error);
  Settings nesterov_without_momentum;
  nesterov_without_momentum.nesterov = true;
  EXPECT_THROW(Optimizer<double>(nesterov_without_momentum, 1), Error);
}

TEST(ClipGradNorm, ScalesToTheMaxNormAndReportsTheNormBefore) {
  std::vector<double> g = {3.0, 4.0};  // norm 5
  EXPECT_DOUBLE_EQ(clip_grad_norm<double>(g, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(g[0], 3.0 / (5.0 + 1e-6));
  EXPECT_DOUBLE_EQ(g[1], 4.0 / (5.0 + 1e-6));
  std::vector<float> small = {0.3f, 0.4f};
  EXPECT_NEAR(clip_grad_norm<float>(small, 1.0), 0.5, 1e-7);
  EXPECT_EQ(small[0], 0.3f);  // under the max: untouched
}

}  // namespace
}  // namespace recur
