// recur demo: the seed notebook, reproduced number for number.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>

#include "commands.hpp"
#include "flags.hpp"
#include "numpy_format.hpp"
#include "seed_flags.hpp"

namespace recur::cli {

namespace {

struct DemoOptions {
  SeedFlags flags;
  std::string log_every = "20";
  bool json = false;
};

// A [T, 1, F] buffer as the notebook's (T, F) nested list.
nlohmann::json rows(std::span<const double> values, int steps, int features) {
  nlohmann::json out = nlohmann::json::array();
  for (int t = 0; t < steps; ++t) {
    out.push_back(
        std::vector<double>(values.begin() + t * features, values.begin() + (t + 1) * features));
  }
  return out;
}

int run_demo(const DemoOptions& options) {
  const SeedSettings settings = options.flags.settings();
  const int log_every = parse_positive_int("--log-every", options.log_every);
  const SeedRun run = run_seed(settings);
  const int T = settings.steps, F = settings.input_size;

  if (options.json) {
    const nlohmann::json out = {{"losses", run.losses},
                                {"predictions", rows(run.predictions, T, F)},
                                {"x", rows(run.data.x, T, F)},
                                {"y", rows(run.data.y, T, F)}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  const std::vector<int> shape = {T, F};
  std::printf("Input sequence x_data:\n %s\n", numpy_str(run.data.x, shape).c_str());
  std::printf("Target output y_data:\n %s\n", numpy_str(run.data.y, shape).c_str());
  for (int epoch = 1; epoch <= settings.epochs; ++epoch) {
    if (epoch % log_every != 0) continue;
    std::printf("Epoch %d/%d, Loss = %s\n", epoch, settings.epochs,
                python_fixed(run.losses[epoch - 1], 4).c_str());
  }
  std::printf("Predictions y_pred:\n %s\n", numpy_str(run.predictions, shape).c_str());
  std::printf("True values y_data:\n %s\n", numpy_str(run.data.y, shape).c_str());
  return 0;
}

}  // namespace

Command add_demo(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* demo = app.add_subcommand(
      "demo", "Train the seed notebook's RNN on y = scale*x and print what the notebook prints");
  options->flags.add_model_flags(*demo);
  options->flags.add_training_flags(*demo);
  demo->add_option("--log-every", options->log_every, "print the loss every N epochs")
      ->capture_default_str();
  demo->add_flag("--json", options->json,
                 "print one JSON object: losses, predictions, x, y (round-trip precision)");
  return [options] { return run_demo(*options); };
}

}  // namespace recur::cli
