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
    stopping_.store(false, std::memory_order_relaxed);
    // Each worker starts from the job before any it must take, read here rather than by the
    // worker, which may start only after the first job is posted.
    const unsigned start = job_.sequence.load(std::memory_order_relaxed);
    for (int w = 0; w < workers; ++w) {
      threads_.emplace_back([this, w, start] { work(w + 1, start); });
    }
  }

  int workers() const { return static_cast<int>(threads_.size()); }

  void run(int parts, PartFunction fn, void* context) {
    pending_.store(parts - 1, std::memory_order_relaxed);
    post(fn, context, parts);
    try {
      run_part(fn, context, 0);
    } catch (...) {  // the workers' parts still read the context: wait for them first
      finish();
      throw;
    }
    finish();
  }

  // Waits for the workers' parts: spins, since they take microseconds.
  void finish() {
    while (pending_.load(std::memory_order_acquire) > 0) pause();
    last_end_.store(now_ns(), std::memory_order_relaxed);
  }

  // Whether the workers finished a job within the last kAwakeNs, and so are still spinning.
  bool awake() const { return now_ns() - last_end_.load(std::memory_order_relaxed) < kAwakeNs; }

 private:
  // The job: what the workers spin on, and all they read to start, in one cache line, so
  // that a spinning worker takes it from the caller's core in one transfer (as a rule: not
  // if it catches the line between the caller's stores). Behind a mutex, a worker had waited
  // for three: the counter it spun on, the mutex, and the job's fields. On the Zen 5 host,
  // its vCPUs a round trip of 0.53 us apart, a job of two empty parts took 0.85-0.97 us that
  // way and 0.59-0.75 this way (0.37 and 0.19 with the vCPUs 0.07 us apart); bench/ab.py, 9
  // rounds: small LSTM 1.032x, GRU 1.018x, streaming LSTM 1.028x, GRU 1.023x, the Elman
  // steps level.
  // A sequence lock: the number is odd while the fields change, and a worker keeps what it
  // read only if the number was even and the same before and after. A job is posted only
  // when no worker is running a part of the last one, but a worker without a part in it may
  // still be reading it.
  struct alignas(64) Job {
    std::atomic<unsigned> sequence{0};
    std::atomic<PartFunction> fn{nullptr};
    std::atomic<void*> context{nullptr};
    std::atomic<int> parts{0};
  };

  void post(PartFunction fn, void* context, int parts) {
    const unsigned sequence = job_.sequence.load(std::memory_order_relaxed);
    job_.sequence.store(sequence + 1, std::memory_order_relaxed);
    // Release: a worker that reads a new field (acquire) then sees the odd number too. (No
    // fences: ThreadSanitizer does not model them.)
    job_.fn.store(fn, std::memory_order_release);
    job_.context.store(context, std::memory_order_release);
    job_.parts.store(parts, std::memory_order_release);
    // Even again, and with it everything the caller wrote before (the parts' context). Then
    // wake the sleepers: with both sides sequentially consistent, either this sees a worker
    // that is going to sleep, or that worker sees the new number and does not sleep.
    job_.sequence.store(sequence + 2, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { const std::lock_guard<std::mutex> lock(mutex_); }  // a sleeper is waiting, or will see it
      wake_.notify_all();
    }
  }

  // The job after `seen`, once posted and whole.
  struct Read {
    unsigned sequence;
    PartFunction fn;
    void* context;
    int parts;
  };
  bool read(unsigned seen, Read& out) const {
    const unsigned before = job_.sequence.load(std::memory_order_acquire);
    if (before == seen || before % 2 != 0) return false;
    // Acquire: the second look at the number comes after the fields, and sees the odd number
    // (or a later one) of a post whose field one of them read.
    out = {before, job_.fn.load(std::memory_order_acquire),
           job_.context.load(std::memory_order_acquire),
           job_.parts.load(std::memory_order_acquire)};
    return job_.sequence.load(std::memory_order_relaxed) == before;
  }

  void stop() {
    if (threads_.empty()) return;
    stopping_.store(true, std::memory_order_relaxed);
    post(nullptr, nullptr, 0);  // stopping_ is read after the job, which it precedes
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  void work(int part, unsigned seen) {
    for (;;) {
      // Spin for the next job (about 0.4 ms: a time loop posts one every few microseconds,
      // with its own single-threaded work between), then sleep until it comes.
      Read job{};
      bool posted = false;
      for (int spin = 0; spin < kSpins && !posted; ++spin) {
        pause();
        posted = read(seen, job);
      }
      while (!posted) {
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        {
          std::unique_lock<std::mutex> lock(mutex_);
          wake_.wait(lock, [&] { return job_.sequence.load(std::memory_order_seq_cst) != seen; });
        }
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        while (!(posted = read(seen, job)) &&
               job_.sequence.load(std::memory_order_relaxed) % 2 != 0) {
          pause();  // the job is being written
        }
      }
      if (stopping_.load(std::memory_order_relaxed)) return;
      seen = job.sequence;  // each job runs at most once here
      if (part < job.parts) {
        run_part(job.fn, job.context, part);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  Job job_;
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<long> last_end_{-kAwakeNs};  // now_ns() at the end of the last job
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
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
