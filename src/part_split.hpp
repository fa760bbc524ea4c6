// How a split time loop shares the batch's rows among the parts of a parallel_run so that the
// parts end together: shares learned from the loop's own runs, each part timing itself.
//
// Part 0 runs on the calling thread and part p on the pool's worker p (thread_pool.hpp), and
// the threads need not run alike. On the Zen 5 host of session 22 the same kernel, in L2, ran
// at 185 GFLOP/s on either vCPU alone, but with both busy at 186 on cpu 0 and 150 on cpu 1;
// the medium GRU's time loops, split 32 and 32 rows, had the worker's half take 1.03-1.30
// times as long as the caller's, whichever half it ran, and the caller waited for it.
//
// A part's time is not proportional to its rows: every step of a part streams all of the
// recurrent weights through its products, whatever its rows. So the shares are not set from
// speeds (rows over time: the part with more rows looks faster, and is given more still) but
// moved, run by run, toward equal times (PartShares::update).
//
// A split never changes a result: each row of a time loop is computed as the unsplit loop
// computes it, wherever its part begins, so results stay identical for any thread count and
// any shares (tested).
#pragma once

#include <array>

#include "thread_pool.hpp"

namespace recur {

// One split loop's shares (a layer's forward or backward time loop), even until its runs
// are timed. Not shared between threads: each network's loops have their own.
class PartShares {
 public:
  // Loops of more parts than this split evenly and are not timed.
  static constexpr int kMostParts = 8;

  // Part p's weight among `parts` (1 each at first, and again when the count changes).
  double weight(int parts, int part) const;
  // The share of the parts before `part`: their weights over all `parts`' (0 to 1).
  double before(int parts, int part) const;
  // The parts' times from a run that went through the pool, parts of `parts`: each weight is
  // multiplied by (mean time / its part's time)^(1/2), each factor held within [0.8, 1.25]
  // (a part preempted for a few milliseconds by the host's other tenants moves a weight by
  // no more than that), then all scaled to sum to `parts`, and each held within [0.2, 5].
  // The square root takes half a step toward equal times: a run's times carry the host's
  // noise (5-10% here), which a full step would pass on to the next split whole. Times that
  // are not finite and positive (a part the clock did not see run) change nothing.
  void update(int parts, const double* seconds);

 private:
  int parts_ = 0;  // the count the weights are for; 0: none yet
  std::array<double, kMostParts> weight_{};
};

// `units` rows shared among `parts` by `shares`: part p gets [begin(p), begin(p + 1)), at
// least `least` each. Where parts * least > units, or beyond kMostParts, the split is even
// and untimed, and a part may get fewer than `least` (the time loops never ask for that:
// batch_parts keeps their parts at kMinSplitRows rows or more).
class PartSplit {
 public:
  PartSplit(PartShares& shares, int parts, int units, int least);

  int parts() const { return parts_; }
  int begin(int part) const;
  // Runs f(part, begin, end) for each part through parallel_for_parts, each part timed, and moves
  // the shares by the times where the parts ran on the pool's threads and no cut was held
  // back by `least` (a batch of 16 in two parts is cut 8 and 8 whatever the shares; times
  // learned there would push them on without end, and a later, larger batch would start
  // from weights far from its own).
  template <typename F>
  void run(F&& f);

 private:
  PartShares& shares_;
  int parts_, units_;
  bool timed_;   // parts_ <= kMostParts, and an uneven split is possible
  bool learns_;  // timed, and no cut was moved to give a part `least`
  std::array<int, PartShares::kMostParts + 1> bounds_{};
  std::array<double, PartShares::kMostParts> seconds_{};
};

// Seconds since an arbitrary start: the steady clock.
double part_clock();

template <typename F>
void PartSplit::run(F&& f) {
  if (parts_ <= 1) return f(0, begin(0), begin(1));
  auto part = [&](int p) {
    const double start = timed_ ? part_clock() : 0;
    f(p, begin(p), begin(p + 1));
    if (timed_) seconds_[p] = part_clock() - start;
  };
  const bool pooled = parallel_for_parts(parts_, part);
  if (learns_ && pooled) shares_.update(parts_, seconds_.data());
}

}  // namespace recur
