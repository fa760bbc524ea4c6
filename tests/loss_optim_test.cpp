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

TEST(Sgd, SubtractsLearningRateTimesGradient) {
  std::vector<double> params = {1.0, -1.0, 0.25};
  const std::vector<double> grads = {0.5, -2.0, 0.0};
  Sgd<double>(0.1).step(params, grads);
  EXPECT_DOUBLE_EQ(params[0], 1.0 - 0.1 * 0.5);
  EXPECT_DOUBLE_EQ(params[1], -1.0 + 0.1 * 2.0);
  EXPECT_DOUBLE_EQ(params[2], 0.25);
}

TEST(Sgd, RejectsLearningRatesThatAreNotPositiveAndFinite) {
  EXPECT_THROW(Sgd<float>(0.0f), Error);
  EXPECT_THROW(Sgd<float>(-1.0f), Error);
  EXPECT_THROW(Sgd<double>(std::numeric_limits<double>::quiet_NaN()), Error);
  EXPECT_THROW(Sgd<double>(std::numeric_limits<double>::infinity()), Error);
}

}  // namespace
}  // namespace recur
