// The GEMM bound of bench/compare, measured on the machine at hand: oneDNN's dnnl_sgemm
// (threads: OMP_NUM_THREADS) on the recurrent step's own shapes and on a large square, each
// after a warm-up, the median of repeats; prints {"gflops": the best shape's, "shapes": [...]}.
// The 480 GFLOP/s was measured on a Zen 5 host with two 512-bit FMAs a cycle; this
// VM has also landed on Zen 4, whose 512-bit FMAs run at half that rate, and a fixed bound
// would then make every "of bound" figure half what it is.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

namespace {

struct Shape {
  int m, n, k;
};

// GFLOP/s of C [m, n] = A [m, k] B [k, n], the median of `repeats` after one warm-up.
double time_sgemm(const Shape& s, int repeats) {
  std::vector<float> a(static_cast<std::size_t>(s.m) * s.k, 0.5f),
      b(static_cast<std::size_t>(s.k) * s.n, 0.25f), c(static_cast<std::size_t>(s.m) * s.n);
  const auto once = [&] {
    dnnl_sgemm('N', 'N', s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c.data(), s.n);
  };
  once();
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    once();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return 2.0 * s.m * s.n * s.k / seconds[seconds.size() / 2] / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  // --quick: one small shape, once (CI's tiny run keeps this program from rotting).
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  // The large LSTM's and the medium GRU's recurrent steps, and 2048^3.
  const std::vector<Shape> shapes =
      quick ? std::vector<Shape>{{64, 256, 256}}
            : std::vector<Shape>{{64, 4096, 1024}, {64, 768, 256}, {2048, 2048, 2048}};
  double best = 0;
  std::printf("{\"shapes\": [");
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    const long work = static_cast<long>(s.m) * s.n * s.k;
    const double gflops = time_sgemm(s, quick ? 1 : std::max(5L, (1L << 32) / work));
    best = std::max(best, gflops);
    std::printf("%s{\"m\": %d, \"n\": %d, \"k\": %d, \"gflops\": %.1f}", i ? ", " : "", s.m, s.n,
                s.k, gflops);
  }
  std::printf("], \"gflops\": %.1f}\n", best);
  return 0;
}
