#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "recur/threads.hpp"

namespace recur {

namespace {

// A hint to the core that this is a spin-wait loop.
inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Whether this thread is running a part of a parallel_run.
thread_local bool in_part = false;

// Runs fn(context, part) with in_part set (and restored, should fn throw).
void run_part(PartFunction fn, void* context, int part) {
  const InlineParts inside(true);
  fn(context, part);
}

// Spins before a worker sleeps: about 0.4 ms at this machine's 19 ns pause. 2,000 spins
// (38 us) let workers fall asleep during a step's single-threaded work, and waking them
// (a futex, and in a VM an interrupt) cost the medium LSTM and charrnn GRU steps 4-5%.
constexpr int kSpins = 20000;
// Half of that, to be sure a worker that finished a job this long ago is still spinning.
constexpr long kAwakeNs = 200'000;

long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Pool {
 public:
  ~Pool() { stop(); }

  void resize(int workers) {
    stop();
    stopping_ = false;
    // Each worker starts from the generation before any job it must take, read here rather
    // than by the worker, which may start only after the first job is posted.
    const unsigned start = generation_.load(std::memory_order_relaxed);
    for (int w = 0; w < workers; ++w) {
      threads_.emplace_back([this, w, start] { work(w + 1, start); });
    }
  }

  int workers() const { return static_cast<int>(threads_.size()); }

  void run(int parts, PartFunction fn, void* context) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = fn;
      context_ = context;
      parts_ = parts;
      pending_.store(parts - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_part(fn, context, 0);
    // The workers' parts: spin, since they take microseconds.
    while (pending_.load(std::memory_order_acquire) > 0) pause();
    last_end_.store(now_ns(), std::memory_order_relaxed);
  }

  // Whether the workers finished a job within the last kAwakeNs, and so are still spinning.
  bool awake() const { return now_ns() - last_end_.load(std::memory_order_relaxed) < kAwakeNs; }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  void work(int part, unsigned seen) {
    for (;;) {
      // Spin for the next job (about 0.4 ms: a time loop posts one every few microseconds,
      // with its own single-threaded work between), then sleep until it comes.
      bool posted = false;
      for (int spin = 0; spin < kSpins && !posted; ++spin) {
        pause();
        posted = generation_.load(std::memory_order_acquire) != seen;
      }
      PartFunction fn;
      void* context;
      int parts;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!posted) {
          wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        }
        if (stopping_) return;
        // The job and its generation, read together: each job runs at most once here.
        seen = generation_.load(std::memory_order_relaxed);
        fn = fn_;
        context = context_;
        parts = parts_;
      }
      if (part < parts) {
        run_part(fn, context, part);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<unsigned> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<long> last_end_{-kAwakeNs};  // now_ns() at the end of the last job
  PartFunction fn_ = nullptr;
  void* context_ = nullptr;
  int parts_ = 0;
  bool stopping_ = false;
};

int default_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

int thread_count = default_threads();

Pool& pool() {
  static Pool instance;
  return instance;
}

}  // namespace

void set_threads(int threads) {
  thread_count = std::max(threads, 1);
}

int threads() {
  return thread_count;
}

int free_threads() {
  return in_part ? 1 : thread_count;
}

bool workers_awake() {
  return thread_count > 1 && !in_part && pool().awake();
}

InlineParts::InlineParts(bool on) : saved_(in_part) {
  in_part = in_part || on;
}

InlineParts::~InlineParts() {
  in_part = saved_;
}

bool parallel_run(int parts, PartFunction fn, void* context) {
  if (in_part) {
    for (int part = 0; part < parts; ++part) fn(context, part);
    return false;
  }
  parts = std::min(parts, thread_count);
  if (parts <= 1) {
    fn(context, 0);
    return false;
  }
  // One caller at a time uses the pool; another thread calling meanwhile (two networks
  // trained in two threads of a program) runs its parts itself, with the same results.
  static std::mutex busy;
  std::unique_lock<std::mutex> lock(busy, std::try_to_lock);
  if (!lock.owns_lock()) {
    for (int part = 0; part < parts; ++part) fn(context, part);
    return false;
  }
  Pool& p = pool();
  if (p.workers() != thread_count - 1) p.resize(thread_count - 1);
  p.run(parts, fn, context);
  return true;
}

}  // namespace recur
