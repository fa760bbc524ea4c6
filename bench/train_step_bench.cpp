// One training step (forward over the sequence, SSE loss, BPTT, SGD update) at the seed
// notebook's size and at a larger one. Run through `make bench`.
#include <benchmark/benchmark.h>

#include <vector>

#include "recur/loss.hpp"
#include "recur/network.hpp"
#include "recur/optim.hpp"
#include "recur/random.hpp"
#include "recur/seed.hpp"

namespace {

template <typename T>
void train_step(benchmark::State& state) {
  const int seq_len = state.range(0), batch = state.range(1), input = state.range(2),
            hidden = state.range(3), output = state.range(4);
  recur::NumpyRandom random(0);
  recur::Network<T> net({input, hidden, output});
  recur::init_numpy(net, random, 0.1);
  std::vector<T> x(seq_len * batch * input), target(seq_len * batch * output);
  std::vector<T> dy(target.size());
  for (T& v : x) v = static_cast<T>(random.randn());
  for (T& v : target) v = static_cast<T>(random.randn());
  recur::Optimizer<T> sgd({recur::OptimizerKind::kSgd, 1e-4}, net.parameters().size());
  for (auto _ : state) {
    const auto y = net.forward(x, seq_len, batch);
    benchmark::DoNotOptimize(recur::sse_loss<T>(y, target, dy));
    net.backward(dy);
    sgd.step(net.parameters(), net.gradients());
    benchmark::ClobberMemory();
  }
  // Multiply-adds of the GEMMs of one step: forward (x W_ih^T, h W_hh^T, readout) and
  // backward (three weight gradients, dh from the readout, dh through W_hh).
  const double macs = 1.0 * seq_len * batch *
                      (2 * (input * hidden + hidden * hidden + hidden * output) + hidden * output +
                       hidden * hidden);
  state.counters["GFLOP/s"] = benchmark::Counter(
      2 * macs, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// Arguments: T, B, I, H, O.
BENCHMARK(train_step<double>)->Name("train_step/seed/float64")->Args({10, 1, 1, 8, 1});
BENCHMARK(train_step<float>)
    ->Name("train_step/T100_B32_I32_H128/float32")
    ->Args({100, 32, 32, 128, 32})
    ->Unit(benchmark::kMicrosecond);

// The notebook's whole run: 200 epochs at the seed's size, data and init included.
void seed_workload(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(recur::run_seed(recur::SeedSettings{}));
}
BENCHMARK(seed_workload)->Name("seed_workload/200_epochs")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
