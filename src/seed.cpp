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
  Optimizer<double> sgd({OptimizerKind::kSgd, settings.learning_rate}, network.parameters().size());

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
