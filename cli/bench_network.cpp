#include "bench_network.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>

#include "recur/error.hpp"
#include "recur/init.hpp"
#include "recur/loss.hpp"
#include "recur/optim.hpp"
#include "recur/random.hpp"

namespace recur::cli {

BenchWorkload parse_bench_workload(const std::string& name) {
  if (name == "train") return BenchWorkload::kTrain;
  if (name == "infer") return BenchWorkload::kInfer;
  if (name == "stream") return BenchWorkload::kStream;
  throw Error("unknown workload '" + name + "'; expected train, infer or stream");
}

const char* bench_workload_name(BenchWorkload workload) {
  switch (workload) {
    case BenchWorkload::kTrain:
      return "train";
    case BenchWorkload::kInfer:
      return "infer";
    case BenchWorkload::kStream:
      return "stream";
  }
  return "?";
}

double product_flops(const NetworkConfig& config, BenchWorkload workload, int steps, int batch) {
  const double H = config.hidden_size, D = config.directions();
  const double G = gate_count(config.cell) * H, O = config.output_size;
  double forward = D * H * O, backward = 2 * D * H * O;  // the readout's; per row
  for (int layer = 0; layer < config.layers; ++layer) {
    const double in = layer == 0 ? config.input_size : D * H;
    forward += D * (in * G + H * G);
    backward += D * (in * G + H * G)             // dW_ih, dW_hh
                + D * G * H                      // dh through W_hh
                + (layer > 0 ? D * G * in : 0);  // dx into the layer below
  }
  const double rows = workload == BenchWorkload::kStream ? batch : 1.0 * steps * batch;
  const double per_row = workload == BenchWorkload::kTrain ? forward + backward : forward;
  return 2 * rows * per_row;
}

double median_of(std::vector<double>& seconds) {
  std::sort(seconds.begin(), seconds.end());
  const std::size_t n = seconds.size();
  return n % 2 == 1 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `run` untimed as plan.warmup says, then times samples of it. The library's loop tuners
// and shares settle within about 18 runs of a small pass (bench/compare.py warms up 20).
BenchResult time_run(const BenchRun& plan, const std::function<void()>& run) {
  constexpr int kLeastWarmup = 20, kMostSamples = 100000;
  constexpr double kGroupSeconds = 10e-6;
  const Clock::time_point start = Clock::now();
  int warmed = 0;
  for (; plan.warmup >= 0 ? warmed < plan.warmup
                          : warmed < kLeastWarmup || seconds_since(start) < 0.25;
       ++warmed) {
    run();
  }
  BenchResult result;
  result.run = plan;
  if (warmed > 0) {
    const double each = seconds_since(start) / warmed;
    result.group = static_cast<int>(std::clamp(std::ceil(kGroupSeconds / each), 1.0, 1000.0));
  }
  std::vector<double> seconds;
  seconds.reserve(plan.samples > 0 ? plan.samples : kMostSamples);
  double total = 0;
  while (plan.samples > 0 ? static_cast<int>(seconds.size()) < plan.samples
                          : seconds.size() < 5 || (total < 1.0 && seconds.size() < kMostSamples)) {
    const Clock::time_point sample = Clock::now();
    for (int i = 0; i < result.group; ++i) run();
    const double elapsed = seconds_since(sample);
    seconds.push_back(elapsed / result.group);
    total += elapsed;
  }
  result.samples = static_cast<int>(seconds.size());
  result.median_s = median_of(seconds);
  result.min_s = seconds.front();
  return result;
}

template <typename T>
std::vector<T> normal_draws(std::size_t count, NumpyRandom& random) {
  std::vector<T> out(count);
  for (T& v : out) v = static_cast<T>(random.randn());
  return out;
}

template <typename T>
double mean(std::span<const T> values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

template <typename T>
BenchResult bench_one(Network<T>& network, const BenchRun& plan, std::uint32_t seed) {
  const NetworkConfig& config = network.config();
  const std::size_t rows = static_cast<std::size_t>(plan.batch) *
                           (plan.workload == BenchWorkload::kStream ? 1 : plan.steps);
  NumpyRandom random(seed);
  const std::vector<T> x = normal_draws<T>(rows * config.input_size, random);
  BenchResult result;
  double first = std::nan("");
  if (plan.workload == BenchWorkload::kStream) {
    if (config.bidirectional) {
      throw Error(
          "a bidirectional network cannot stream: its reverse direction needs the "
          "whole sequence");
    }
    std::vector<T> state(network.state_size(plan.batch)), y(rows * config.output_size);
    network.set_training(false);
    result = time_run(plan, [&] {
      network.step(x, state, y, plan.batch);
      if (std::isnan(first)) first = mean<T>(y);
    });
  } else if (plan.workload == BenchWorkload::kInfer) {
    network.set_training(false);
    result = time_run(plan, [&] {
      const std::span<const T> y = network.forward(x, plan.steps, plan.batch);
      if (std::isnan(first)) first = mean(y);
    });
  } else {
    const std::vector<T> target = normal_draws<T>(rows * config.output_size, random);
    std::vector<T> dy(target.size());
    // A learning rate small enough that the weights stay near where they started however many
    // updates the timing takes, so that no run meets numbers of another scale.
    Optimizer<T> sgd({OptimizerKind::kSgd, 1e-6}, network.parameters().size());
    network.set_training(true);
    result = time_run(plan, [&] {
      const std::span<const T> y = network.forward(x, plan.steps, plan.batch);
      const double loss = masked_loss<T>(LossKind::kMse, y, target, dy, plan.steps, plan.batch, {});
      if (std::isnan(first)) first = loss;
      network.backward(dy);
      sgd.step(network.parameters(), network.gradients());
    });
  }
  result.flops = product_flops(config, plan.workload, plan.steps, plan.batch);
  result.first_value = first;
  return result;
}

}  // namespace

template <typename T>
std::vector<BenchResult> bench_network(const NetworkConfig& config, const ModelFile* model,
                                       std::uint32_t seed, const std::vector<BenchRun>& runs) {
  std::vector<BenchResult> results;
  for (const BenchRun& plan : runs) {
    // A network of its own for each run, made as the last was, so that one run's updates do
    // not reach the next, and the process's peak memory is one network's, as in training.
    Network<T> network(config);
    if (model != nullptr) {
      load_parameters(*model, network);
    } else {
      NumpyRandom random(seed);
      initialize(network, InitMethod::kPytorch, random);
    }
    results.push_back(bench_one(network, plan, seed));
  }
  return results;
}

template std::vector<BenchResult> bench_network<float>(const NetworkConfig&, const ModelFile*,
                                                       std::uint32_t, const std::vector<BenchRun>&);
template std::vector<BenchResult> bench_network<double>(const NetworkConfig&, const ModelFile*,
                                                        std::uint32_t,
                                                        const std::vector<BenchRun>&);

}  // namespace recur::cli
