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

constexpr int kStart = LoopTuner::kWarmup + 2 * LoopTuner::kPhase;  // warm-up, both phases

TEST(LoopTuner, WarmsUpThenTriesEachForAPhase) {
  for (int warmup : {LoopTuner::kWarmup, LoopTuner::kOuterWarmup}) {
    LoopTuner tuner(warmup);
    for (int r = 0; r < warmup; ++r) {
      const LoopTuner::Plan plan = tuner.next(kWork, kMost);
      EXPECT_EQ(plan.candidate, -1) << "warm-up run " << r << " of " << warmup << " is not timed";
      EXPECT_EQ(plan.parts, kMost);
    }
    for (int candidate : {0, 1}) {
      for (int r = 0; r < LoopTuner::kPhase; ++r) {
        const LoopTuner::Plan plan = tuner.next(kWork, kMost);
        EXPECT_EQ(plan.parts, candidate == 0 ? 1 : kMost) << "phase " << candidate << " run " << r;
        // The first run of a phase may pay for the other candidate's state (a sleeping worker).
        EXPECT_EQ(plan.candidate, r == 0 ? -1 : candidate) << "phase " << candidate << " run " << r;
        if (plan.candidate >= 0) tuner.record(kWork, plan.candidate, candidate == 0 ? 1.0 : 2.0);
      }
    }
    EXPECT_EQ(tuner.estimates(kWork)[0], 1.0);
    EXPECT_EQ(tuner.estimates(kWork)[1], 2.0);
  }
}

// An inner tuner that runs once for each of an outer tuner's warm-up runs (a layer's time
// loop inside a pass of Network's) has tried both its candidates by the end of that warm-up
// and runs its faster from then on.
TEST(LoopTuner, InnerTunersSettleWithinAnOuterWarmup) {
  LoopTuner inner;
  run_loops(inner, LoopTuner::kOuterWarmup, 1.0, 2.0);
  EXPECT_EQ(inner.estimates(kWork)[0], 1.0);
  EXPECT_EQ(inner.estimates(kWork)[1], 2.0);
  for (int r = 0; r < LoopTuner::kPhase; ++r) EXPECT_EQ(inner.next(kWork, kMost).parts, 1);
}

TEST(LoopTuner, KeepsTheFasterAndExploresTheOtherForAPhase) {
  for (const bool split_faster : {true, false}) {
    LoopTuner tuner;
    const double one = split_faster ? 2e-3 : 1e-3, split = split_faster ? 1e-3 : 2e-3;
    run_loops(tuner, kStart, one, split);
    const int runs = 10 * LoopTuner::kCycle;
    const int split_runs = run_loops(tuner, runs, one, split);
    // A phase of the other in each cycle (the first where the first phases ended).
    const int other = 10 * LoopTuner::kPhase;
    EXPECT_EQ(split_runs, split_faster ? runs - other : other);
  }
}

TEST(LoopTuner, FollowsAChangeOfMachine) {
  LoopTuner tuner;
  run_loops(tuner, 3 * LoopTuner::kCycle, 2e-3, 1e-3);  // split faster
  // Now one thread takes 1 ms and a split 3 ms: the split's own runs show it at once.
  run_loops(tuner, LoopTuner::kCycle, 1e-3, 3e-3);
  EXPECT_EQ(run_loops(tuner, 10 * LoopTuner::kCycle, 1e-3, 3e-3), 10 * LoopTuner::kPhase);
  // And back: the one-thread runs do not show it, the phases of the other do.
  run_loops(tuner, 3 * LoopTuner::kCycle, 3e-3, 1e-3);
  EXPECT_EQ(run_loops(tuner, 10 * LoopTuner::kCycle, 3e-3, 1e-3),
            10 * (LoopTuner::kCycle - LoopTuner::kPhase));
  const auto e = tuner.estimates(kWork);
  EXPECT_LT(e[1], e[0]);
}

TEST(LoopTuner, APhaseKeepsItsCandidate) {
  // The other candidate's phase runs to its end though its first timed run already makes it
  // the faster (a faster time becomes the estimate): each phase is one candidate's, timed as
  // it runs when chosen.
  LoopTuner tuner;
  run_loops(tuner, kStart, 1e-3, 2e-3);  // one thread faster
  for (int r = kStart - LoopTuner::kWarmup; r % LoopTuner::kCycle != 0; ++r) {
    const LoopTuner::Plan plan = tuner.next(kWork, kMost);
    ASSERT_EQ(plan.parts, 1);
    tuner.record(kWork, 0, 1e-3);
  }
  for (int r = 0; r < LoopTuner::kPhase; ++r) {
    const LoopTuner::Plan plan = tuner.next(kWork, kMost);
    EXPECT_EQ(plan.parts, kMost) << "run " << r << " of the other's phase";
    if (plan.candidate >= 0) {
      tuner.record(kWork, plan.candidate, 1e-4);
      EXPECT_EQ(tuner.estimates(kWork)[1], 1e-4);
    }
  }
  EXPECT_LT(tuner.estimates(kWork)[1], tuner.estimates(kWork)[0]);
  EXPECT_EQ(tuner.next(kWork, kMost).parts, kMost) << "now the faster";
}

TEST(LoopTuner, AFasterRunIsTheEstimateASlowerOneMovesItAQuarter) {
  LoopTuner tuner;
  run_loops(tuner, kStart, 1e-3, 2e-3);
  ASSERT_EQ(tuner.estimates(kWork)[0], 1e-3);
  tuner.record(kWork, 0, 0.5e-3);
  EXPECT_EQ(tuner.estimates(kWork)[0], 0.5e-3);
  tuner.record(kWork, 0, 0.9e-3);
  EXPECT_DOUBLE_EQ(tuner.estimates(kWork)[0], 0.5e-3 + (0.9e-3 - 0.5e-3) / 4);
}

TEST(LoopTuner, APreemptedRunCountsAsTwiceTheEstimate) {
  LoopTuner tuner;
  run_loops(tuner, kStart, 1e-3, 2e-3);
  ASSERT_EQ(tuner.estimates(kWork)[0], 1e-3);
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
    for (int size = 1; size <= LoopTuner::kSlots; ++size) plan_and_record(size, size * 1e-3);
  }
  for (int size = 1; size <= LoopTuner::kSlots; ++size) {
    EXPECT_EQ(tuner.estimates(size)[0], size * 1e-3) << size;
  }
  plan_and_record(1, 1e-3);  // 2 is now the least recent
  plan_and_record(LoopTuner::kSlots + 1, 1.0);
  EXPECT_EQ(tuner.estimates(2)[0], 0) << "forgotten";
  EXPECT_EQ(tuner.estimates(1)[0], 1e-3);
  // A size met again starts over with a warm-up.
  EXPECT_EQ(tuner.next(2, kMost).candidate, -1);
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
    const int runs = kStart + 20;
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
