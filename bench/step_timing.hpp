// bench/compare_onednn's workload, the FLOPs of one training step of it (the count `recur
// bench` makes, cli/bench_network.hpp, for one layer), and the median of timed repeats after
// warm-up, printed as one JSON line, as compare_torch.py prints its own.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace bench {

struct Workload {
  std::string cell = "elman";  // elman, lstm or gru
  int T = 50, B = 16, I = 16, H = 64, O = 16;
  int repeats = 5, warmup = 1;
  int threads = 0;  // recur's threads; 0: its default
  int stream = 0;   // 1: time one streaming inference step (B = 1, no gradients) instead
};

// "--cell lstm --T 100 ..." into a Workload; exits 2 on a flag it does not know.
inline Workload parse_workload(int argc, char** argv) {
  Workload w;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--cell") {
      w.cell = value;
    } else {
      int* field = flag == "--T"         ? &w.T
                   : flag == "--B"       ? &w.B
                   : flag == "--I"       ? &w.I
                   : flag == "--H"       ? &w.H
                   : flag == "--O"       ? &w.O
                   : flag == "--repeats" ? &w.repeats
                   : flag == "--warmup"  ? &w.warmup
                   : flag == "--threads" ? &w.threads
                   : flag == "--stream"  ? &w.stream
                                         : nullptr;
      if (field == nullptr) {
        std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
        std::exit(2);
      }
      *field = std::atoi(value.c_str());
    }
  }
  return w;
}

inline int gates(const std::string& cell) {
  return cell == "lstm" ? 4 : cell == "gru" ? 3 : 1;
}

// FLOPs of the products of one training step, the same count for every implementation:
// forward x W_ih^T, h W_hh^T and the readout; backward the three weight gradients, the
// readout's dh and dh through W_hh (the input gradient of layer 0 is not needed).
inline double step_flops(const Workload& w) {
  const double G = gates(w.cell) * w.H, rows = 1.0 * w.T * w.B;
  const double forward = rows * (w.I * G + w.H * G + w.H * w.O);
  const double backward = rows * (w.I * G + w.H * G + w.H * w.O) + rows * (w.H * w.O + G * w.H);
  return 2 * (forward + backward);
}

// Runs step warmup times, then repeats timed times, and prints
// {"median_ms": .., "min_ms": .., "gflops": .., "peak_mb": peak resident memory of the process}.
inline void time_steps(const Workload& w, const std::function<void()>& step) {
  for (int i = 0; i < w.warmup; ++i) step();
  std::vector<double> ms;
  for (int i = 0; i < std::max(w.repeats, 1); ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // ru_maxrss: the peak resident set, in KiB
  std::printf("{\"median_ms\": %.6g, \"min_ms\": %.6g, \"gflops\": %.6g, \"peak_mb\": %.1f}\n",
              median, ms[0], step_flops(w) / (median * 1e6), usage.ru_maxrss / 1024.0);
}

}  // namespace bench
