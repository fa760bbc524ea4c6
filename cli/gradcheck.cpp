// recur gradcheck: every BPTT gradient against central finite differences, in double.
#include "recur/gradcheck.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "commands.hpp"
#include "flags.hpp"
#include "recur/loss.hpp"
#include "seed_flags.hpp"

namespace recur::cli {

namespace {

struct GradcheckOptions {
  SeedFlags flags;
  std::string tolerance = "1e-6";
  std::string eps = "1e-3";
  std::string cell = "elman", nonlinearity = "tanh", layers = "1";
  bool bidirectional = false;
};

int run_gradcheck(const GradcheckOptions& options) {
  const SeedSettings s = options.flags.settings();
  const double tolerance = parse_positive_finite("--tolerance", options.tolerance);
  const double eps = parse_positive_finite("--eps", options.eps);

  NumpyRandom random(s.seed);
  const SeedData data = draw_seed_data(s, random);
  NetworkConfig config{s.input_size, s.hidden_size, s.input_size};
  config.cell = parse_cell(parse_choice("--cell", options.cell, {"elman", "lstm", "gru"}));
  config.nonlinearity =
      parse_nonlinearity(parse_choice("--nonlinearity", options.nonlinearity, {"tanh", "relu"}));
  config.layers = parse_positive_int("--layers", options.layers);
  if (options.nonlinearity != "tanh" && config.cell != CellKind::kElman) {
    throw UsageError("--nonlinearity: applies to the elman cell; " + options.cell +
                     " has its own gates' functions");
  }
  config.bidirectional = options.bidirectional;
  Network<double> network(config);
  init_numpy(network, random, s.init_scale);

  std::vector<double> dy(data.y.size());
  sse_loss<double>(network.forward(data.x, s.steps, s.batch_size), data.y, dy);
  network.backward(dy);
  const std::vector<double> analytic(network.gradients().begin(), network.gradients().end());
  const std::vector<double> numeric =
      numeric_gradients(network, data.x, data.y, s.steps, s.batch_size, eps);

  bool passed = true;
  std::printf("%-28s %s\n", "tensor", "max relative error");
  for (const TensorError& e : compare_gradients(network.tensors(), analytic, numeric)) {
    const bool ok = e.max_relative_error <= tolerance;  // false for NaN
    passed = passed && ok;
    std::printf("%-28s %.3e%s\n", e.name.c_str(), e.max_relative_error, ok ? "" : "  FAIL");
  }
  std::printf("gradcheck %s (tolerance %g, eps %g, %s, T=%d B=%d I=%d H=%d, %d layer(s)%s)\n",
              passed ? "passed" : "FAILED", tolerance, eps, cell_name(config.cell), s.steps,
              s.batch_size, s.input_size, s.hidden_size, config.layers,
              config.bidirectional ? ", bidirectional" : "");
  return passed ? 0 : 1;
}

}  // namespace

Command add_gradcheck(CLI::App& app) {
  auto options = std::make_shared<GradcheckOptions>();
  CLI::App* cmd = app.add_subcommand("gradcheck",
                                     "Compare every BPTT gradient with central finite differences");
  options->flags.add_model_flags(*cmd);
  options->flags.add_batch_flag(*cmd);
  cmd->add_option("--tolerance", options->tolerance, "largest relative error allowed")
      ->capture_default_str();
  cmd->add_option("--eps", options->eps, "finite-difference step")->capture_default_str();
  cmd->add_option("--cell", options->cell, "elman, lstm or gru")->capture_default_str();
  cmd->add_option("--nonlinearity", options->nonlinearity, "the Elman cell's: tanh or relu")
      ->capture_default_str();
  cmd->add_option("--layers", options->layers, "stacked recurrent layers")->capture_default_str();
  cmd->add_flag("--bidirectional", options->bidirectional, "both directions");
  return [options] { return run_gradcheck(*options); };
}

}  // namespace recur::cli
