// recur bench's timings of a network's own work, for a model file or a network of given sizes:
// a training step, inference over a sequence, a streaming step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recur/model_file.hpp"
#include "recur/network.hpp"

namespace recur::cli {

enum class BenchWorkload {
  kTrain,   // forward over [steps, batch], MSE loss, BPTT, one SGD update
  kInfer,   // forward over [steps, batch] in evaluation mode
  kStream,  // one Network::step of [batch] rows
};

// "train", "infer", "stream"; and back.
BenchWorkload parse_bench_workload(const std::string& name);
const char* bench_workload_name(BenchWorkload workload);

// The floating-point operations (two per multiply-add) of the matrix products of one run of
// `workload` over `steps` time steps of `batch` sequences (a stream step: one time step), the
// same count whatever does the work: forward, every layer's and direction's x W_ih^T and
// h W_hh^T, and the readout's h W_o^T; backward, the three weight gradients, dh through W_hh,
// the readout's dh, and the input gradient of each layer above the first (the first layer's is
// not needed). The cells' own arithmetic, the loss and the update are not counted.
double product_flops(const NetworkConfig& config, BenchWorkload workload, int steps, int batch);

// The median of some times (the mean of the middle two of an even count); sorts them.
double median_of(std::vector<double>& seconds);

struct BenchRun {
  BenchWorkload workload = BenchWorkload::kTrain;
  int steps = 1;    // time steps of a train or infer run; a stream run takes one
  int batch = 1;    // sequences
  int samples = 0;  // timed samples; 0: as many as fill a second (at least 5)
  int warmup = -1;  // untimed runs first; -1: as many as fill a quarter second, at least 20
};

struct BenchResult {
  BenchRun run;
  int samples = 0;
  int group = 1;  // runs a sample: runs under 10 us are timed in groups of about 10 us
  double median_s = 0, min_s = 0;  // of a run: a sample's time over its group
  double flops = 0;                // product_flops of one run
  // The first run's answer, from the network as given: the MSE loss (train), or the mean of
  // the outputs (infer; stream, from a zero state).
  double first_value = 0;
};

// Times each run on a network of `config` of its own, in T (float or double): with `model`'s
// parameters where it is given (its config must be `config`), else PyTorch's initialisation
// drawn from `seed`. Each run's inputs, then its targets, are standard normal draws from
// `seed`, x [steps, batch, I] time-major. Throws Error for a stream run of a bidirectional
// network, whose reverse direction needs the whole sequence.
template <typename T>
std::vector<BenchResult> bench_network(const NetworkConfig& config, const ModelFile* model,
                                       std::uint32_t seed, const std::vector<BenchRun>& runs);

}  // namespace recur::cli
