// Whether a time loop of a middling size runs faster on one thread or split by rows of the
// batch among the pool's threads, decided by timing both on the loop itself, as a planner
// would, rather than by a fixed threshold. On this project's 2-core VM the answer for the
// small workloads changes with the host the VM lands on: in session 6, on a Zen 5 host, the
// small LSTM's training step ran 20% slower with its loops split (0.87 against 0.74 ms); in
// session 7, on a Zen 4 host, whose 512-bit multiply-adds run at half the rate (116 against
// about 240 GFLOP/s a core), 30% faster (0.87 against 1.25 ms), the same code. A split never
// changes a result (each row is computed as the unsplit loop computes it), only the time.
//
// A tuner keeps kSlots loop sizes (a loop's multiply-adds: a training run's full batches, its
// last, smaller one, a validation batch), and for each a running estimate of both candidates'
// times, one thread and `most`. After kWarmup untimed runs (the workspace's page faults) it runs
// each candidate for a phase of kPhase runs, then the faster, and every kCycle runs a phase of the
// other, so that a changed machine changes the choice. Candidates are compared in phases,
// not single runs, so that each is timed as it runs when chosen: a split run right after
// loops on one thread pays for waking the sleeping workers (tens of us), which split loops
// one after another do not, and alternating single runs made the split look slower than it
// was (one process in six kept a loop on one thread, its step 25% slower). The first run of
// a phase is not timed. A timed run faster than its candidate's estimate becomes the
// estimate; a slower one moves it a quarter of the way, a time over twice the estimate
// counting as twice (a preempted run): one slow first run cannot bury a candidate, and a
// machine that slows down is followed within a few runs. Nothing is allocated; the cost is
// two clock reads a loop.
#pragma once

#include <array>
#include <chrono>

namespace recur {

class LoopTuner {
 public:
  static constexpr int kWarmup = 2;
  static constexpr int kPhase = 4;
  static constexpr int kCycle = 128;  // runs, a phase of the other among them
  static constexpr int kSlots = 4;
  // The warm-up of a tuner whose runs hold other tuners' loops (Network's passes over the
  // layers' time loops): its warm-up runs `most`, and the inner tuners, which advance only
  // then, have tried both their candidates by its end, so that its `most` is timed with them
  // settled rather than in their phase on one thread.
  static constexpr int kOuterWarmup = kWarmup + 2 * kPhase;

  explicit LoopTuner(int warmup = kWarmup) : warmup_(warmup) {}

  // Runs loop(parts) for parts 1 or `most` (the candidates), as chosen for a loop of `work`
  // multiply-adds, and times it.
  template <typename F>
  void run(long work, int most, F&& loop) {
    if (most <= 1) return loop(1);
    const Plan plan = next(work, most);
    if (plan.candidate < 0) return loop(plan.parts);
    const auto start = std::chrono::steady_clock::now();
    loop(plan.parts);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    record(work, plan.candidate, took.count());
  }

  // What the next loop of `work` runs in: its parts, and its candidate (0: one thread,
  // 1: most; -1: an untimed warm-up run).
  struct Plan {
    int parts;
    int candidate;
  };
  Plan next(long work, int most);
  // The time of a run of `candidate` for the loop of `work`.
  void record(long work, int candidate, double seconds);
  // The estimates for `work` (0: none yet), for tests.
  std::array<double, 2> estimates(long work) const;

 private:
  struct Slot {
    long work = -1;  // -1: unused
    int most = 0;    // the larger candidate
    long runs = 0;
    int phase_candidate = 0;  // the candidate of the phase under way
    unsigned used = 0;
    std::array<double, 2> estimate{};  // seconds, by candidate; 0 until first timed
  };

  Slot* find(long work);

  int warmup_;  // untimed runs of `most` a new loop size starts with
  std::array<Slot, kSlots> slots_{};
  unsigned clock_ = 0;
};

}  // namespace recur
