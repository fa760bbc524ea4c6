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
