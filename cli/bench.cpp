// recur bench: times the seed notebook's whole training run (data, init, epochs, prediction).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "commands.hpp"
#include "flags.hpp"
#include "seed_flags.hpp"

namespace recur::cli {

namespace {

struct BenchOptions {
  SeedFlags flags;
  std::string repeats = "200";
  bool json = false;
};

int run_bench(const BenchOptions& options) {
  const SeedSettings settings = options.flags.settings();
  const int repeats = parse_positive_int("--repeats", options.repeats);
  std::vector<double> seconds;
  seconds.reserve(repeats);
  double checksum = 0.0;  // keeps the work observable
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const SeedRun run = run_seed(settings);
    const auto stop = std::chrono::steady_clock::now();
    checksum += run.losses.back();
    seconds.push_back(std::chrono::duration<double>(stop - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const double best = seconds.front();
  if (options.json) {
    const nlohmann::json out = {{"workload", "seed"}, {"epochs", settings.epochs},
                                {"repeats", repeats}, {"median_s", median},
                                {"min_s", best},      {"final_loss", checksum / repeats}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf(
        "seed workload (T=%d, I=%d, H=%d, %d epochs): median %.1f us, best %.1f us over %d runs\n",
        settings.steps, settings.input_size, settings.hidden_size, settings.epochs, median * 1e6,
        best * 1e6, repeats);
  }
  return 0;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* cmd =
      app.add_subcommand("bench", "Time the seed notebook's training run (see also make bench)");
  options->flags.add_model_flags(*cmd);
  options->flags.add_training_flags(*cmd);
  cmd->add_option("--repeats", options->repeats, "timed runs; the median is reported")
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "print the timings as one JSON object");
  return [options] { return run_bench(*options); };
}

}  // namespace recur::cli
