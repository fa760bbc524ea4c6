// Which backend serves each product of a training step fastest, timed on the machine at hand:
// recur's own (gemm(): its small loop or its blocked kernel; the recurrent products
// gemm_packed over weights packed once, as the time loops use them), oneDNN's dnnl_sgemm and
// Eigen 3.4's product, on the shapes of bench/compare's workloads, all with the same threads
// (--threads N, default the machine's cores: recur's pool, OpenMP's for oneDNN and Eigen).
// oneDNN has no double product, so --double times recur and Eigen only.
//
// For each shape it prints GFLOP/s of each backend (the median of batches of calls, after a
// warm-up), the winner and its margin over recur's; for each workload, one step's products
// summed (each shape's time times its calls per step) for recur alone and for the best
// backend of every shape, which is what choosing the backend per shape could win.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "gemm.hpp"
#include "packed_gemm.hpp"
#include "recur/threads.hpp"

namespace {

using recur::Trans;

struct Product {
  const char* name;
  Trans ta, tb;
  int m, n, k;
  long calls;   // per training step
  bool packed;  // a recurrent product: op(B) fixed for the time loop, recur packs it once
};

struct Workload {
  const char* name;
  int T, B, I, H, O;
};

// One training step's products, as src/network.cpp and src/layer.cpp call them (one layer,
// one direction): each step reads x_t and h_prev against [W_ih^T; W_hh^T] in one product, and
// each backward step its gates' gradients and the readout's dy against [W_hh; W_o] in one.
// (GRU's has 4H columns, n's x W_in and h W_hn apart, each panel summing only its own
// source's rows: as many multiply-adds as the dense [B, I + H] by [I + H, 3H] timed here.)
std::vector<Product> step_products(const Workload& w, const std::string& cell) {
  const int G = (cell == "lstm" ? 4 : cell == "gru" ? 3 : 1) * w.H, rows = w.T * w.B;
  std::vector<Product> p;
  p.push_back({"[x,h] W^T", Trans::kNo, Trans::kNo, w.B, G, w.I + w.H, w.T, true});
  p.push_back({"h W_o^T", Trans::kNo, Trans::kYes, rows, w.O, w.H, 1, false});
  p.push_back({"[dg,dy] W", Trans::kNo, Trans::kNo, w.B, w.H, G + w.O, w.T, true});
  p.push_back({"dy^T h", Trans::kYes, Trans::kNo, w.O, w.H, rows, 1, false});
  p.push_back({"dg^T x", Trans::kYes, Trans::kNo, G, w.I, rows, 1, false});
  p.push_back({"dg^T h", Trans::kYes, Trans::kNo, G, w.H, rows, 1, false});
  return p;
}

// Seconds a call: the median of 9 batches, each of at least 2^27 multiply-adds (about a
// millisecond at these rates), after one batch of warm-up. Calls follow one another, so
// recur's pool stays awake between them and its products split as they do right after a
// time loop (packed_gemm.cpp's workers_awake); every backend writes C with beta 0, and
// recur's recurrent products are timed without their packing, done once a loop.
double seconds_per_call(const std::function<void()>& call, long work) {
  const long calls = std::max(1L, (1L << 27) / std::max(1L, work));
  std::vector<double> batches;
  for (int b = 0; b < 10; ++b) {
    const auto start = std::chrono::steady_clock::now();
    for (long c = 0; c < calls; ++c) call();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (b > 0) batches.push_back(s / calls);
  }
  std::sort(batches.begin(), batches.end());
  return batches[batches.size() / 2];
}

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Map = Eigen::Map<RowMatrix<T>>;

// C = op(A) op(B) through Eigen, the matrices stored densely.
template <typename T>
void eigen_product(const Product& p, const T* a, const T* b, T* c) {
  const bool ta = p.ta == Trans::kYes, tb = p.tb == Trans::kYes;
  const Map<T> am(const_cast<T*>(a), ta ? p.k : p.m, ta ? p.m : p.k);
  const Map<T> bm(const_cast<T*>(b), tb ? p.n : p.k, tb ? p.k : p.n);
  Map<T> cm(c, p.m, p.n);
  if (ta && tb) {
    cm.noalias() = am.transpose() * bm.transpose();
  } else if (ta) {
    cm.noalias() = am.transpose() * bm;
  } else if (tb) {
    cm.noalias() = am * bm.transpose();
  } else {
    cm.noalias() = am * bm;
  }
}

struct Times {
  double recur = 0, onednn = 0, eigen = 0;  // seconds a call; 0: not timed
};

template <typename T>
Times time_product(const Product& p) {
  const bool ta = p.ta == Trans::kYes, tb = p.tb == Trans::kYes;
  const int lda = ta ? p.m : p.k, ldb = tb ? p.k : p.n;
  std::vector<T> a(static_cast<std::size_t>(p.m) * p.k), b(static_cast<std::size_t>(p.k) * p.n),
      c(static_cast<std::size_t>(p.m) * p.n);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = T(0.001) * static_cast<T>(i % 997);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = T(0.002) * static_cast<T>(i % 991);
  const long work = static_cast<long>(p.m) * p.n * p.k;
  Times t;
  recur::PackedMatrix<T> packed;
  if (p.packed && recur::use_packed<T>(p.m, p.k, p.n)) {
    packed.pack(p.tb, p.k, p.n, b.data(), ldb);
    t.recur = seconds_per_call(
        [&] { recur::gemm_packed(p.m, a.data(), lda, packed, T(0), c.data(), p.n); }, work);
  } else {
    t.recur = seconds_per_call(
        [&] {
          recur::gemm(p.ta, p.tb, p.m, p.n, p.k, T(1), a.data(), lda, b.data(), ldb, T(0), c.data(),
                      p.n);
        },
        work);
  }
  if constexpr (std::is_same_v<T, float>) {
    t.onednn = seconds_per_call(
        [&] {
          dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', p.m, p.n, p.k, 1.0f, a.data(), lda, b.data(),
                     ldb, 0.0f, c.data(), p.n);
        },
        work);
  }
  t.eigen = seconds_per_call([&] { eigen_product(p, a.data(), b.data(), c.data()); }, work);
  return t;
}

const char* transposes(const Product& p) {
  static const char* names[] = {"NN", "NT", "TN", "TT"};
  return names[(p.ta == Trans::kYes ? 2 : 0) + (p.tb == Trans::kYes ? 1 : 0)];
}

template <typename T>
void run(const std::vector<Workload>& workloads) {
  std::printf("%-8s %-6s %-10s %2s %5s %5s %5s %6s %8s %8s %8s  %-7s %s\n", "workload", "cell",
              "product", "op", "m", "n", "k", "calls", "recur", "oneDNN", "Eigen", "best",
              "vs recur");
  for (const Workload& w : workloads) {
    for (const std::string cell : {"elman", "lstm", "gru"}) {
      double recur_total = 0, best_total = 0;
      for (const Product& p : step_products(w, cell)) {
        const Times t = time_product<T>(p);
        const double flop = 2.0 * p.m * p.n * p.k;
        const auto rate = [&](double s) { return s > 0 ? flop / s / 1e9 : 0.0; };
        double best = t.recur;
        const char* winner = "recur";
        if (t.onednn > 0 && t.onednn < best) best = t.onednn, winner = "oneDNN";
        if (t.eigen > 0 && t.eigen < best) best = t.eigen, winner = "Eigen";
        recur_total += p.calls * t.recur;
        best_total += p.calls * best;
        std::printf("%-8s %-6s %-10s %2s %5d %5d %5d %6ld %8.1f %8.1f %8.1f  %-7s %.2fx\n", w.name,
                    cell.c_str(), p.name, transposes(p), p.m, p.n, p.k, p.calls, rate(t.recur),
                    rate(t.onednn), rate(t.eigen), winner, t.recur / best);
      }
      std::printf("%-8s %-6s products of one step: recur %.3f ms, best of each %.3f ms (%.2fx)\n",
                  w.name, cell.c_str(), recur_total * 1e3, best_total * 1e3,
                  recur_total / best_total);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  bool use_double = false, quick = false;
  std::string only;  // --workload NAME: that workload's products alone
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (flag == "--double") {
      use_double = true;
    } else if (flag == "--workload" && i + 1 < argc) {
      only = argv[++i];
    } else if (flag == "--quick") {  // CI: the tiny workload, to keep this program from rotting
      quick = true;
    } else {
      std::fprintf(stderr,
                   "usage: gemm_backends [--threads N] [--double] [--quick] [--workload NAME]\n");
      return 2;
    }
  }
  if (threads > 0) {
    recur::set_threads(threads);
    omp_set_num_threads(threads);
  }
  Eigen::setNbThreads(omp_get_max_threads());
  std::printf("GFLOP/s, %s, %d threads (recur %d)\n", use_double ? "double" : "float",
              omp_get_max_threads(), recur::threads());
  std::vector<Workload> workloads = quick
                                        ? std::vector<Workload>{{"tiny", 5, 2, 3, 7, 2}}
                                        : std::vector<Workload>{{"small", 50, 16, 16, 64, 16},
                                                                {"medium", 100, 64, 64, 256, 64},
                                                                {"charrnn", 100, 32, 65, 512, 65},
                                                                {"large", 100, 64, 256, 1024, 256}};
  std::erase_if(workloads, [&](const Workload& w) { return !only.empty() && only != w.name; });
  if (workloads.empty()) {
    std::fprintf(stderr, "gemm_backends: --workload %s: expected small, medium, charrnn or large\n",
                 only.c_str());
    return 2;
  }
  use_double ? run<double>(workloads) : run<float>(workloads);
  return 0;
}
