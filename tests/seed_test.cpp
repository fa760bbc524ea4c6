// The seed notebook's printed numbers (../shared/seed/notebook.txt), from the library.
#include "recur/seed.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace recur {
namespace {

TEST(Seed, DataIsTheNotebooksXAndTwoX) {
  const double printed_x[] = {0.49671415,  -0.1382643, 0.64768854, 1.52302986,  -0.23415337,
                              -0.23413696, 1.57921282, 0.76743473, -0.46947439, 0.54256004};
  NumpyRandom random(42);
  const SeedData data = draw_seed_data(SeedSettings{}, random);
  ASSERT_EQ(data.x.size(), 10u);
  for (int t = 0; t < 10; ++t) {
    EXPECT_NEAR(data.x[t], printed_x[t], 5e-9);
    EXPECT_EQ(data.y[t], 2.0 * data.x[t]);
  }
}

TEST(Seed, LossesAndPredictionsAreTheNotebooksPrintedOnes) {
  const SeedRun run = run_seed(SeedSettings{});
  // "Epoch 20/200, Loss = 9.2975" ... "Epoch 200/200, Loss = 0.0184", printed with :.4f.
  const double printed_losses[] = {9.2975, 5.6213, 0.3721, 0.0429, 0.0329,
                                   0.0289, 0.0255, 0.0227, 0.0204, 0.0184};
  ASSERT_EQ(run.losses.size(), 200u);
  for (int k = 0; k < 10; ++k) {
    EXPECT_NEAR(run.losses[20 * (k + 1) - 1], printed_losses[k], 5e-5) << "epoch " << 20 * (k + 1);
  }
  // "预测值 y_pred", printed by numpy with 8 decimals.
  const double printed_predictions[] = {1.04348767,  -0.32104181, 1.36640077, 2.98100245,
                                        -0.51198748, -0.5150128,  3.06108598, 1.61297415,
                                        -0.94754366, 1.14039697};
  ASSERT_EQ(run.predictions.size(), 10u);
  for (int t = 0; t < 10; ++t) EXPECT_NEAR(run.predictions[t], printed_predictions[t], 5e-9);
}

TEST(Seed, TrainingLowersTheLossFromTheStart) {
  const SeedRun run = run_seed(SeedSettings{});
  EXPECT_LT(run.losses.back(), 0.01 * run.losses.front());
}

}  // namespace
}  // namespace recur
