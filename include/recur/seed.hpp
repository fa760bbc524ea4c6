// The seed notebook's task (../shared/seed/notebook.txt): y = scale * x on a random sequence,
// drawn from numpy's stream in the notebook's order, and its randn * 0.01 initialisation.
#pragma once

#include <cstdint>
#include <vector>

#include "recur/init.hpp"
#include "recur/network.hpp"
#include "recur/random.hpp"

namespace recur {

// The notebook's constants; every one is a flag of `recur demo`.
struct SeedSettings {
  std::uint32_t seed = 42;
  int steps = 10;  // T
  int input_size = 1;
  int hidden_size = 8;
  double learning_rate = 0.01;
  int epochs = 200;
  double scale = 2.0;        // y = scale * x
  double init_scale = 0.01;  // weights = randn * init_scale
  int batch_size = 1;        // the notebook has one sequence
};

// The data, [steps, batch, input_size] each, time-major.
struct SeedData {
  std::vector<double> x;
  std::vector<double> y;
};

// Draws x = randn(T, B, I) from `random` and sets y = scale * x. With B = 1 this is the
// notebook's x_data = np.random.randn(T, input_size).
SeedData draw_seed_data(const SeedSettings& settings, NumpyRandom& random);

}  // namespace recur

namespace recur {

// Everything the notebook prints: the data, the loss of every epoch (computed before that
// epoch's update) and the predictions of the trained network, [steps, batch, input_size].
struct SeedRun {
  SeedData data;
  std::vector<double> losses;
  std::vector<double> predictions;
};

// The notebook end to end: seed, draw the data, initialise, train `epochs` full-BPTT SGD
// steps on the SSE loss, predict. Throws Error on invalid settings.
SeedRun run_seed(const SeedSettings& settings);

}  // namespace recur
