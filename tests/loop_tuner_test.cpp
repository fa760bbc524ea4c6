// The time loops' choice between one thread and a split (src/loop_tuner.hpp): its schedule of
// warm-up, trials and exploration against times given to it, and on loops whose true times
// are known because they sleep.
#include "loop_tuner.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace recur {
namespace {

constexpr long kWork = 1000;
constexpr int kMost = 3;

// Plans and records `runs` loops of kWork whose times are one(parts == 1) or split; returns
// how many of them ran split.
int run_loops(LoopTuner& tuner, int runs, double one, double split) {
  int split_runs = 0;
  for (int r = 0; r < runs; ++r) {
    const LoopTuner::Plan plan = tuner.next(kWork, kMost);
    split_runs += plan.parts == kMost;
    if (plan.candidate >= 0) tuner.record(kWork, plan.candidate, plan.parts == 1 ? one : split);
  }
  return split_runs;
}

TEST(LoopTuner, WarmsUpThenTriesBothAlternately) {
  LoopTuner tuner;
  for (int r = 0; r < LoopTuner::kWarmup; ++r) {
    const LoopTuner::Plan plan = tuner.next(kWork, kMost);
    EXPECT_EQ(plan.candidate, -1) << "warm-up run " << r << " is not timed";
    EXPECT_EQ(plan.parts, kMost);
  }
  for (int r = 0; r < 2 * LoopTuner::kTrials; ++r) {
    const LoopTuner::Plan plan = tuner.next(kWork, kMost);
    EXPECT_EQ(plan.candidate, r % 2) << "trial " << r;
    EXPECT_EQ(plan.parts, r % 2 == 0 ? 1 : kMost) << "trial " << r;
    tuner.record(kWork, plan.candidate, 1.0);
  }
  EXPECT_EQ(tuner.estimates(kWork)[0], 1.0);
  EXPECT_EQ(tuner.estimates(kWork)[1], 1.0);
}

TEST(LoopTuner, KeepsTheFasterAndExploresTheOther) {
  for (const bool split_faster : {true, false}) {
    LoopTuner tuner;
    const double one = split_faster ? 2e-3 : 1e-3, split = split_faster ? 1e-3 : 2e-3;
    run_loops(tuner, LoopTuner::kWarmup + 2 * LoopTuner::kTrials, one, split);
    const int runs = 10 * LoopTuner::kExplore;
    const int split_runs = run_loops(tuner, runs, one, split);
    // All but one in kExplore runs are the faster candidate's.
    EXPECT_EQ(split_runs,
              split_faster ? runs - runs / LoopTuner::kExplore : runs / LoopTuner::kExplore);
  }
}

TEST(LoopTuner, FollowsAChangeOfLoad) {
  LoopTuner tuner;
  run_loops(tuner, 200, 2e-3, 1e-3);  // split faster
  // The machine changes: one thread now takes 1 ms and a split 3 ms. Exploring every
  // kExplore runs finds it within a few explorations.
  run_loops(tuner, 10 * LoopTuner::kExplore, 1e-3, 3e-3);
  EXPECT_EQ(run_loops(tuner, 10 * LoopTuner::kExplore, 1e-3, 3e-3), 10);
  const auto e = tuner.estimates(kWork);
  EXPECT_LT(e[0], e[1]);
}

TEST(LoopTuner, APreemptedRunCountsAsTwiceTheEstimate) {
  LoopTuner tuner;
  run_loops(tuner, LoopTuner::kWarmup + 2 * LoopTuner::kTrials, 1e-3, 2e-3);
  ASSERT_EQ(tuner.estimates(kWork)[0], 1e-3);
  tuner.next(kWork, kMost);
  tuner.record(kWork, 0, 1.0);  // a run that lost the core for a second
  EXPECT_DOUBLE_EQ(tuner.estimates(kWork)[0], 1e-3 + (2e-3 - 1e-3) / 4);
}

TEST(LoopTuner, KeepsSizesApartAndForgetsTheLeastRecent) {
  LoopTuner tuner;
  const auto plan_and_record = [&](long work, double seconds) {
    const LoopTuner::Plan plan = tuner.next(work, kMost);
    if (plan.candidate >= 0) tuner.record(work, plan.candidate, seconds);
  };
  for (int r = 0; r < 20; ++r) {
    plan_and_record(10, 1e-3);
    plan_and_record(20, 2e-3);
  }
  EXPECT_EQ(tuner.estimates(10)[0], 1e-3);
  EXPECT_EQ(tuner.estimates(20)[0], 2e-3);
  plan_and_record(20, 2e-3);  // 10 is now the least recent
  plan_and_record(30, 3e-3);
  EXPECT_EQ(tuner.estimates(10)[0], 0) << "forgotten";
  EXPECT_EQ(tuner.estimates(20)[0], 2e-3);
  // A size met again starts over with a warm-up.
  EXPECT_EQ(tuner.next(10, kMost).candidate, -1);
}

TEST(LoopTuner, ANewThreadCountStartsOver) {
  LoopTuner tuner;
  run_loops(tuner, 20, 1e-3, 2e-3);
  const LoopTuner::Plan plan = tuner.next(kWork, kMost + 1);
  EXPECT_EQ(plan.candidate, -1);
  EXPECT_EQ(plan.parts, kMost + 1);
  EXPECT_EQ(tuner.estimates(kWork)[0], 0);
}

TEST(LoopTuner, RunTimesRealLoopsAndPicksTheFaster) {
  // Loops that sleep 4 ms on one thread and 0.4 ms split: after the trials, all but the
  // explorations run split; and the reverse.
  for (const bool split_faster : {true, false}) {
    LoopTuner tuner;
    const auto slow = std::chrono::microseconds(4000), fast = std::chrono::microseconds(400);
    int split_runs = 0;
    const int runs = LoopTuner::kWarmup + 2 * LoopTuner::kTrials + 20;
    for (int r = 0; r < runs; ++r) {
      tuner.run(kWork, 2, [&](int parts) {
        if (r >= runs - 20) split_runs += parts == 2;
        std::this_thread::sleep_for((parts == 2) == split_faster ? fast : slow);
      });
    }
    EXPECT_EQ(split_runs, split_faster ? 20 : 0) << (split_faster ? "split" : "one thread");
  }
  // One candidate only: nothing to time.
  LoopTuner tuner;
  int calls = 0;
  tuner.run(kWork, 1, [&](int parts) { calls += parts; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(tuner.estimates(kWork)[0], 0);
}

}  // namespace
}  // namespace recur
