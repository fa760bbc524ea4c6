#include "bench_network.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

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

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `run` untimed `warmup` times (or as BenchRun says for -1), then timed.
BenchResult time_run(const BenchRun& plan, const std::function<void()>& run) {
  constexpr int kMostRuns = 100000;
  if (plan.warmup >= 0) {
    for (int i = 0; i < plan.warmup; ++i) run();
  } else {
    const Clock::time_point start = Clock::now();
    for (int i = 0; i < 3 || (i < kMostRuns && seconds_since(start) < 0.25); ++i) run();
  }
  std::vector<double> seconds;
  seconds.reserve(plan.repeats > 0 ? plan.repeats : kMostRuns);
  double total = 0;
  while (plan.repeats > 0 ? static_cast<int>(seconds.size()) < plan.repeats
                          : seconds.size() < 5 || (total < 1.0 && seconds.size() < kMostRuns)) {
    const Clock::time_point start = Clock::now();
    run();
    seconds.push_back(seconds_since(start));
    total += seconds.back();
  }
  std::sort(seconds.begin(), seconds.end());
  BenchResult result;
  result.run = plan;
  result.runs = static_cast<int>(seconds.size());
  result.median_s = seconds[seconds.size() / 2];
  result.min_s = seconds.front();
  return result;
}

template <typename T>
std::vector<T> normal_draws(std::size_t count, NumpyRandom& random) {
  std::vector<T> out(count);
  for (T& v : out) v = static_cast<T>(random.randn());
  return out;
}

}  // namespace

template <typename T>
std::vector<BenchResult> bench_network(const NetworkConfig& config, const ModelFile* model,
                                       std::uint32_t seed, const std::vector<BenchRun>& runs) {
  Network<T> network(config);
  NumpyRandom random(seed);
  if (model != nullptr) {
    load_parameters(*model, network);
  } else {
    initialize(network, InitMethod::kPytorch, random);
  }
  // A learning rate small enough that the weights stay near where they started however many
  // updates the timing takes, so that no run meets numbers of another scale.
  Optimizer<T> sgd({OptimizerKind::kSgd, 1e-6}, network.parameters().size());
  const std::size_t I = config.input_size, O = config.output_size;
  std::vector<BenchResult> results;
  for (const BenchRun& plan : runs) {
    const std::size_t rows = static_cast<std::size_t>(plan.batch) *
                             (plan.workload == BenchWorkload::kStream ? 1 : plan.steps);
    const std::vector<T> x = normal_draws<T>(rows * I, random);
    BenchResult result;
    if (plan.workload == BenchWorkload::kStream) {
      if (config.bidirectional) {
        throw Error(
            "a bidirectional network cannot stream: its reverse direction needs the "
            "whole sequence");
      }
      std::vector<T> state(network.state_size(plan.batch)), y(rows * O);
      network.set_training(false);
      result = time_run(plan, [&] { network.step(x, state, y, plan.batch); });
    } else if (plan.workload == BenchWorkload::kInfer) {
      network.set_training(false);
      result = time_run(plan, [&] { network.forward(x, plan.steps, plan.batch); });
    } else {
      const std::vector<T> target = normal_draws<T>(rows * O, random);
      std::vector<T> dy(target.size());
      network.set_training(true);
      result = time_run(plan, [&] {
        const std::span<const T> y = network.forward(x, plan.steps, plan.batch);
        masked_loss<T>(LossKind::kMse, y, target, dy, plan.steps, plan.batch, {});
        network.backward(dy);
        sgd.step(network.parameters(), network.gradients());
      });
    }
    result.flops = product_flops(config, plan.workload, plan.steps, plan.batch);
    results.push_back(result);
  }
  return results;
}

template std::vector<BenchResult> bench_network<float>(const NetworkConfig&, const ModelFile*,
                                                       std::uint32_t, const std::vector<BenchRun>&);
template std::vector<BenchResult> bench_network<double>(const NetworkConfig&, const ModelFile*,
                                                        std::uint32_t,
                                                        const std::vector<BenchRun>&);

}  // namespace recur::cli
