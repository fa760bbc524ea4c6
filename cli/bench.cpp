// recur bench: times the seed notebook's whole training run (data, init, epochs, prediction),
// or a network's training step, inference over a sequence and streaming step
// (bench_network.hpp), for a model file or a network of given sizes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench_network.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "recur/error.hpp"
#include "recur/threads.hpp"
#include "seed_flags.hpp"

namespace recur::cli {

namespace {

struct BenchOptions {
  SeedFlags flags;
  std::string repeats;
  bool json = false;
  // The network workloads'.
  std::string workload, model, cell = "elman", layers = "1", nonlinearity = "tanh";
  std::string output_size, batch = "1", dtype, warmup;
  bool bidirectional = false;
  CLI::App* cmd = nullptr;

  bool given(const char* flag) const { return cmd->get_option(flag)->count() > 0; }
};

// The flags only the seed run takes, only the network workloads take, and those a model file
// decides.
constexpr const char* kSeedOnly[] = {"--scale", "--init-scale", "--lr", "--epochs"};
constexpr const char* kNetworkOnly[] = {"--model",         "--cell",         "--layers",
                                        "--bidirectional", "--nonlinearity", "--output-size",
                                        "--batch",         "--dtype",        "--warmup"};
constexpr const char* kFromModel[] = {"--input-size", "--hidden",        "--output-size", "--cell",
                                      "--layers",     "--bidirectional", "--nonlinearity"};

int run_seed_bench(const BenchOptions& options) {
  for (const char* flag : kNetworkOnly) {
    if (options.given(flag)) {
      throw UsageError(std::string(flag) +
                       ": applies to --workload train, infer and stream, not to the seed run");
    }
  }
  const SeedSettings settings = options.flags.settings();
  const int repeats =
      parse_positive_int("--repeats", options.repeats.empty() ? "200" : options.repeats);
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

void print_results(const NetworkConfig& c, const std::string& dtype,
                   const std::vector<BenchResult>& results, bool json) {
  if (json) {
    nlohmann::json out = {{"network",
                           {{"cell", cell_name(c.cell)},
                            {"layers", c.layers},
                            {"bidirectional", c.bidirectional},
                            {"input_size", c.input_size},
                            {"hidden_size", c.hidden_size},
                            {"output_size", c.output_size},
                            {"dtype", dtype}}},
                          {"threads", threads()},
                          {"results", nlohmann::json::array()}};
    for (const BenchResult& r : results) {
      out["results"].push_back(
          {{"workload", bench_workload_name(r.run.workload)},
           {"steps", r.run.workload == BenchWorkload::kStream ? 1 : r.run.steps},
           {"batch", r.run.batch},
           {"runs", r.runs},
           {"median_s", r.median_s},
           {"min_s", r.min_s},
           {"flops", r.flops},
           {"gflops", r.flops / r.median_s / 1e9}});
    }
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%s%s, %d layer%s, input %d, hidden %d, output %d, %s, %d thread%s\n",
              c.bidirectional ? "bidirectional " : "", cell_name(c.cell), c.layers,
              c.layers == 1 ? "" : "s", c.input_size, c.hidden_size, c.output_size, dtype.c_str(),
              threads(), threads() == 1 ? "" : "s");
  std::printf("%-8s %6s %6s %14s %14s %9s %7s\n", "workload", "steps", "batch", "median (ms)",
              "best (ms)", "GFLOP/s", "runs");
  for (const BenchResult& r : results) {
    std::printf("%-8s %6d %6d %14.4f %14.4f %9.2f %7d\n", bench_workload_name(r.run.workload),
                r.run.workload == BenchWorkload::kStream ? 1 : r.run.steps, r.run.batch,
                r.median_s * 1e3, r.min_s * 1e3, r.flops / r.median_s / 1e9, r.runs);
  }
}

int run_network_bench(const BenchOptions& o, const std::vector<std::string>& workloads) {
  for (const char* flag : kSeedOnly) {
    if (o.given(flag)) {
      throw UsageError(std::string(flag) +
                       ": applies to the seed run (--workload seed), not to train, infer or "
                       "stream");
    }
  }
  std::unique_ptr<ModelFile> model;
  NetworkConfig config;
  if (!o.model.empty()) {
    for (const char* flag : kFromModel) {
      if (o.given(flag)) {
        throw UsageError(std::string(flag) + ": the network's sizes and cell come from --model " +
                         o.model);
      }
    }
    model = std::make_unique<ModelFile>(read_model(o.model));
    config = model->config;
  } else {
    config.input_size = parse_positive_int("--input-size", o.flags.input_size);
    config.hidden_size = parse_positive_int("--hidden", o.flags.hidden);
    config.output_size = o.output_size.empty() ? config.input_size
                                               : parse_positive_int("--output-size", o.output_size);
    config.cell = parse_cell(parse_choice("--cell", o.cell, {"elman", "lstm", "gru"}));
    config.layers = parse_positive_int("--layers", o.layers);
    config.bidirectional = o.bidirectional;
    config.nonlinearity =
        parse_nonlinearity(parse_choice("--nonlinearity", o.nonlinearity, {"tanh", "relu"}));
    if (o.given("--nonlinearity") && config.cell != CellKind::kElman) {
      throw UsageError("--nonlinearity: applies to the elman cell, not to " + o.cell);
    }
  }
  const std::string dtype =
      parse_choice("--dtype", o.dtype.empty() ? (model ? model->dtype : "float32") : o.dtype,
                   {"float32", "float64"});
  BenchRun plan;
  plan.steps = parse_positive_int("--steps", o.flags.steps);
  plan.batch = parse_positive_int("--batch", o.batch);
  if (!o.repeats.empty()) plan.repeats = parse_positive_int("--repeats", o.repeats);
  if (!o.warmup.empty()) {
    plan.warmup = o.warmup == "0" ? 0 : parse_positive_int("--warmup", o.warmup);
  }
  const std::uint32_t seed = parse_seed("--seed", o.flags.seed);
  std::vector<BenchRun> runs;
  std::vector<std::string> names = workloads;
  if (names.empty()) {  // a bidirectional network cannot stream
    names = {"train", "infer"};
    if (!config.bidirectional) names.push_back("stream");
  }
  for (const std::string& name : names) {
    plan.workload = parse_bench_workload(name);
    if (plan.workload == BenchWorkload::kStream && config.bidirectional) {
      throw UsageError(
          "--workload stream: a bidirectional network cannot stream (its reverse "
          "direction needs the whole sequence)");
    }
    runs.push_back(plan);
  }
  const std::size_t value = dtype == "float32" ? sizeof(float) : sizeof(double);
  const double data =
      1.0 * plan.steps * plan.batch * (config.input_size + 2.0 * config.output_size) * value;
  const double network = Network<float>::memory_bytes(config, plan.steps, plan.batch);
  check_fits_in_memory(data + network * value / sizeof(float),
                       "--steps " + std::to_string(plan.steps) + " --batch " +
                           std::to_string(plan.batch) + " for this network");
  const std::vector<BenchResult> results =
      dtype == "float32" ? bench_network<float>(config, model.get(), seed, runs)
                         : bench_network<double>(config, model.get(), seed, runs);
  print_results(config, dtype, results, o.json);
  return 0;
}

int run_bench(const BenchOptions& o) {
  std::vector<std::string> workloads;  // empty: the network workloads' default
  if (o.given("--workload")) {
    workloads = parse_names("--workload", o.workload);
  } else {
    bool network = false;
    for (const char* flag : kNetworkOnly) network = network || o.given(flag);
    if (!network) workloads = {"seed"};
  }
  for (const std::string& name : workloads) {
    if (name != "seed" && name != "train" && name != "infer" && name != "stream") {
      throw UsageError(
          "--workload: expected seed, train, infer or stream (or a list of the "
          "last three), got '" +
          name + "'");
    }
  }
  const bool seed = std::ranges::find(workloads, "seed") != workloads.end();
  if (seed && workloads.size() > 1) {
    throw UsageError("--workload: seed (the notebook's run) goes alone, not with " +
                     std::string(workloads[0] == "seed" ? workloads[1] : workloads[0]));
  }
  return seed ? run_seed_bench(o) : run_network_bench(o, workloads);
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Time the seed notebook's training run, or a network's training step, inference "
      "and streaming step (see also make bench)");
  options->cmd = cmd;
  options->flags.add_model_flags(*cmd);
  options->flags.add_training_flags(*cmd);
  cmd->add_option("--repeats", options->repeats,
                  "timed runs, of which the median is reported (default: 200 of the seed run; "
                  "of the others, as many as fill a second, at least 5)");
  cmd->add_flag("--json", options->json, "print the timings as one JSON object");
  cmd->add_option("--workload", options->workload,
                  "seed (the notebook's run; the default), or any of train, infer, stream, "
                  "comma-separated (the default where a flag below is given)");
  cmd->add_option("--model", options->model,
                  "time this model file's network (safetensors) in place of one of the sizes "
                  "given");
  cmd->add_option("--cell", options->cell, "elman, lstm or gru")->capture_default_str();
  cmd->add_option("--layers", options->layers, "stacked recurrent layers")->capture_default_str();
  cmd->add_flag("--bidirectional", options->bidirectional, "two directions a layer");
  cmd->add_option("--nonlinearity", options->nonlinearity, "the Elman cell's: tanh or relu")
      ->capture_default_str();
  cmd->add_option("--output-size", options->output_size, "output size O (default: the input size)");
  cmd->add_option("--batch", options->batch, "sequences per batch B")->capture_default_str();
  cmd->add_option("--dtype", options->dtype,
                  "float32 or float64 (default: the model's, or float32)");
  cmd->add_option("--warmup", options->warmup,
                  "untimed runs before the timed ones (default: as many as fill a quarter "
                  "second, at least 3)");
  return [options] { return run_bench(*options); };
}

}  // namespace recur::cli
