#include "recur/seed.hpp"

#include <algorithm>

namespace recur {

SeedData draw_seed_data(const SeedSettings& settings, NumpyRandom& random) {
  SeedData data;
  data.x.resize(static_cast<std::size_t>(settings.steps) * settings.batch_size *
                settings.input_size);
  random.randn(data.x);
  data.y.resize(data.x.size());
  std::transform(data.x.begin(), data.x.end(), data.y.begin(),
                 [&](double v) { return settings.scale * v; });
  return data;
}

namespace {

// Draws a numpy (rows, cols) matrix times scale and stores its transpose in `out` (cols, rows).
template <typename T>
void draw_transposed(NumpyRandom& random, int rows, int cols, double scale, std::span<T> out) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) out[c * rows + r] = static_cast<T>(random.randn() * scale);
  }
}

}  // namespace

template <typename T>
void init_numpy(Network<T>& network, NumpyRandom& random, double init_scale) {
  const NetworkConfig& c = network.config();
  std::fill(network.parameters().begin(), network.parameters().end(), T(0));
  draw_transposed(random, c.input_size, c.hidden_size, init_scale,
                  network.parameter("rnn.weight_ih_l0"));
  draw_transposed(random, c.hidden_size, c.hidden_size, init_scale,
                  network.parameter("rnn.weight_hh_l0"));
  draw_transposed(random, c.hidden_size, c.output_size, init_scale,
                  network.parameter("readout.weight"));
}

template void init_numpy<float>(Network<float>&, NumpyRandom&, double);
template void init_numpy<double>(Network<double>&, NumpyRandom&, double);

}  // namespace recur

#include "recur/loss.hpp"
#include "recur/optim.hpp"

namespace recur {

SeedRun run_seed(const SeedSettings& settings) {
  NumpyRandom random(settings.seed);
  SeedRun run;
  run.data = draw_seed_data(settings, random);
  Network<double> network({settings.input_size, settings.hidden_size, settings.input_size});
  init_numpy(network, random, settings.init_scale);
  const Sgd<double> sgd(settings.learning_rate);

  std::vector<double> dy(run.data.y.size());
  run.losses.reserve(settings.epochs);
  for (int epoch = 0; epoch < settings.epochs; ++epoch) {
    const auto y = network.forward(run.data.x, settings.steps, settings.batch_size);
    run.losses.push_back(sse_loss<double>(y, run.data.y, dy));
    network.backward(dy);
    sgd.step(network.parameters(), network.gradients());
  }
  const auto y = network.forward(run.data.x, settings.steps, settings.batch_size);
  run.predictions.assign(y.begin(), y.end());
  return run;
}

}  // namespace recur
