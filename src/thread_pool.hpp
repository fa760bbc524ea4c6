// The pool behind recur::threads(): parallel_run(parts, fn) runs fn(0), ..., fn(parts - 1),
// the calling thread taking part 0 and the pool's workers the rest, and returns when all are
// done. Workers spin briefly before sleeping, since a time loop hands them work every few
// microseconds. Nothing is allocated per call. Safe to call from several threads at once: one
// caller at a time gets the pool, the others run their parts themselves.
#pragma once

namespace recur {

using PartFunction = void (*)(void* context, int part);

// parts is at most threads(); parts <= 1 runs fn(context, 0) inline. Called from inside a
// part (a time loop split by rows whose products would split again), it runs every part
// inline, in order: the pool's threads are all busy with the outer parts. Returns whether
// the parts ran on the pool's threads, part p on worker p (part_split.hpp measures them).
bool parallel_run(int parts, PartFunction fn, void* context);

// The threads a product may split over here: threads(), or 1 inside a part.
int free_threads();

// Whether the pool's workers are still spinning from a job that ended moments ago, so that
// handing them another costs no wake-up (a futex, and in a VM an interrupt: tens of us).
bool workers_awake();

// While one lives on a thread with `on` set, parallel_run there runs every part inline and
// free_threads() is 1, as inside a part: a pass that a LoopTuner has timed faster on one
// thread (Network's forward and backward) runs so, products and time loops alike.
class InlineParts {
 public:
  explicit InlineParts(bool on);
  ~InlineParts();
  InlineParts(const InlineParts&) = delete;
  InlineParts& operator=(const InlineParts&) = delete;

 private:
  bool saved_;
};

// Calls f(part) for each part, f any callable (a lambda), through parallel_run.
template <typename F>
bool parallel_for_parts(int parts, F& f) {
  return parallel_run(
      parts, [](void* context, int part) { (*static_cast<F*>(context))(part); }, &f);
}

}  // namespace recur
