#include "loop_tuner.hpp"

#include <algorithm>

namespace recur {

LoopTuner::Slot* LoopTuner::find(long work) {
  for (Slot& s : slots_) {
    if (s.work == work) return &s;
  }
  return nullptr;
}

LoopTuner::Plan LoopTuner::next(long work, int most) {
  Slot* slot = find(work);
  if (slot == nullptr || slot->most != most) {  // a new size, or a new thread count
    if (slot == nullptr) {
      slot = &*std::min_element(slots_.begin(), slots_.end(),
                                [](const Slot& a, const Slot& b) { return a.used < b.used; });
    }
    *slot = Slot{};
    slot->work = work;
    slot->most = most;
  }
  slot->used = ++clock_;
  const long run = slot->runs++;
  if (run < warmup_) return {most, -1};
  const long r = run - warmup_, phase = r / kPhase;
  const bool starts = r % kPhase == 0;  // a new phase: its candidate, kept for the phase
  if (starts && phase < 2) {            // each candidate's first phase: one thread, then most
    slot->phase_candidate = static_cast<int>(phase);
  } else if (starts) {
    const int best = slot->estimate[1] < slot->estimate[0] ? 1 : 0;
    slot->phase_candidate = r % kCycle == 0 ? 1 - best : best;  // now and then the other
  }
  // A phase's first run is not timed.
  return {slot->phase_candidate == 0 ? 1 : most, starts ? -1 : slot->phase_candidate};
}

void LoopTuner::record(long work, int candidate, double seconds) {
  Slot* slot = find(work);
  if (slot == nullptr) return;
  double& e = slot->estimate[candidate];
  e = e == 0 || seconds < e ? seconds : e + (std::min(seconds, 2 * e) - e) / 4;
}

std::array<double, 2> LoopTuner::estimates(long work) const {
  for (const Slot& s : slots_) {
    if (s.work == work) return s.estimate;
  }
  return {};
}

}  // namespace recur
