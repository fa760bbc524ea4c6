// recur bench: times the seed notebook's whole training run (data, init, epochs, prediction),
// or a network's training step, inference over a sequence and streaming step
// (bench_network.hpp), for a model file or a network of given sizes.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
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
constexpr const char* kNetworkOnly[] = {"--cell",         "--layers",      "--bidirectional",
                                        "--nonlinearity", "--output-size", "--batch",
                                        "--dtype",        "--warmup"};
constexpr const char* kFromModel[] = {"--input-size", "--hidden",        "--output-size", "--cell",
                                      "--layers",     "--bidirectional", "--nonlinearity"};
constexpr int kMostRepeats = 10'000'000;

int parse_repeats(const BenchOptions& o, int fallback) {
  if (!o.given("--repeats")) return fallback;
  const int repeats = parse_positive_int("--repeats", o.repeats);
  if (repeats > kMostRepeats) {
    throw UsageError("--repeats: expected at most " + std::to_string(kMostRepeats) + ", got " +
                     o.repeats);
  }
  return repeats;
}

int run_seed_bench(const BenchOptions& options) {
  for (const char* flag : kNetworkOnly) {
    if (options.given(flag)) {
      throw UsageError(std::string(flag) +
                       ": applies to a network's timings, which --workload train,infer,stream "
                       "or --model asks for; without them bench times the seed run");
    }
  }
  const SeedSettings settings = options.flags.settings();
  const int repeats = parse_repeats(options, 200);
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
  const double median = median_of(seconds);
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

// The process's peak resident set so far (ru_maxrss, in KiB on Linux), in MB of 2^20 bytes.
double peak_resident_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void print_results(const NetworkConfig& c, const std::string& dtype,
                   const std::vector<BenchResult>& results, bool json) {
  const char* first_name[] = {"loss", "output_mean", "output_mean"};
  if (json) {
    nlohmann::json network = {{"cell", cell_name(c.cell)},
                              {"layers", c.layers},
                              {"bidirectional", c.bidirectional},
                              {"input_size", c.input_size},
                              {"hidden_size", c.hidden_size},
                              {"output_size", c.output_size},
                              {"dropout", c.dropout},
                              {"dtype", dtype}};
    if (c.cell == CellKind::kElman) network["nonlinearity"] = nonlinearity_name(c.nonlinearity);
    nlohmann::json out = {{"network", network},
                          {"threads", threads()},
                          {"peak_rss_mb", peak_resident_mb()},
                          {"results", nlohmann::json::array()}};
    for (const BenchResult& r : results) {
      out["results"].push_back(
          {{"workload", bench_workload_name(r.run.workload)},
           {"steps", r.run.workload == BenchWorkload::kStream ? 1 : r.run.steps},
           {"batch", r.run.batch},
           {"samples", r.samples},
           {"group", r.group},
           {"median_s", r.median_s},
           {"min_s", r.min_s},
           {"flops", r.flops},
           {"gflops", r.flops / r.median_s / 1e9},
           {first_name[static_cast<int>(r.run.workload)], r.first_value}});
    }
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::string cell = cell_name(c.cell);
  if (c.cell == CellKind::kElman)
    cell += std::string(" (") + nonlinearity_name(c.nonlinearity) + ")";
  std::printf("%s%s, %d layer%s, input %d, hidden %d, output %d",
              c.bidirectional ? "bidirectional " : "", cell.c_str(), c.layers,
              c.layers == 1 ? "" : "s", c.input_size, c.hidden_size, c.output_size);
  if (c.dropout > 0) std::printf(", dropout %g", c.dropout);
  std::printf(", %s, %d thread%s\n", dtype.c_str(), threads(), threads() == 1 ? "" : "s");
  std::printf("%-8s %6s %6s %14s %14s %9s %8s\n", "workload", "steps", "batch", "median (ms)",
              "best (ms)", "GFLOP/s", "samples");
  for (const BenchResult& r : results) {
    std::printf("%-8s %6d %6d %14.4f %14.4f %9.2f %8d", bench_workload_name(r.run.workload),
                r.run.workload == BenchWorkload::kStream ? 1 : r.run.steps, r.run.batch,
                r.median_s * 1e3, r.min_s * 1e3, r.flops / r.median_s / 1e9, r.samples);
    if (r.group > 1) std::printf(" of %d runs", r.group);
    std::printf("\n");
  }
  std::printf("peak resident memory of the process: %.1f MB\n", peak_resident_mb());
}

// The sizes the network and its runs need, refused before anything is allocated for them.
void check_sizes(const NetworkConfig& config, const BenchRun& plan, bool sequences,
                 std::size_t value_bytes) {
  if (config.layers > 1'000'000) throw UsageError("--layers: expected at most 1000000");
  const long long H = config.hidden_size;
  const long long widest =
      std::max({static_cast<long long>(config.input_size), gate_count(config.cell) * H,
                config.directions() * H, static_cast<long long>(config.output_size)});
  const int steps = sequences ? plan.steps : 1;
  const std::string flags = (sequences ? "--steps " + std::to_string(plan.steps) + " " : "") +
                            "--batch " + std::to_string(plan.batch);
  if ((steps + 1LL) * plan.batch * widest > std::numeric_limits<int>::max()) {
    throw UsageError(flags + ": more than 2147483647 values in one of the network's buffers");
  }
  const double data =
      1.0 * steps * plan.batch * (config.input_size + 2.0 * config.output_size) * value_bytes;
  const double network = Network<float>::memory_bytes(config, steps, plan.batch);
  check_fits_in_memory(data + network * value_bytes / sizeof(float), flags + " for this network");
}

int run_network_bench(const BenchOptions& o, std::vector<std::string> workloads) {
  for (const char* flag : kSeedOnly) {
    if (o.given(flag)) {
      throw UsageError(std::string(flag) + ": applies to the seed run, not to a network's timings");
    }
  }
  if (o.given("--model")) {
    if (o.model.empty()) throw UsageError("--model: expected a model file, got ''");
    for (const char* flag : kFromModel) {
      if (o.given(flag)) {
        throw UsageError(std::string(flag) + ": the network's sizes and cell come from --model " +
                         o.model);
      }
    }
  }
  // Every flag is checked before a model file is read.
  BenchRun plan;
  plan.steps = parse_positive_int("--steps", o.flags.steps);
  plan.batch = parse_positive_int("--batch", o.batch);
  plan.samples = parse_repeats(o, 0);
  if (o.given("--warmup")) plan.warmup = parse_count("--warmup", o.warmup);
  const std::uint32_t seed = parse_seed("--seed", o.flags.seed);
  std::string dtype;
  if (o.given("--dtype")) dtype = parse_choice("--dtype", o.dtype, {"float32", "float64"});
  NetworkConfig config;
  if (!o.given("--model")) {
    config.input_size = parse_positive_int("--input-size", o.flags.input_size);
    config.hidden_size = parse_positive_int("--hidden", o.flags.hidden);
    config.output_size = o.given("--output-size")
                             ? parse_positive_int("--output-size", o.output_size)
                             : config.input_size;
    config.cell = parse_cell(parse_choice("--cell", o.cell, {"elman", "lstm", "gru"}));
    config.layers = parse_positive_int("--layers", o.layers);
    config.bidirectional = o.bidirectional;
    config.nonlinearity =
        parse_nonlinearity(parse_choice("--nonlinearity", o.nonlinearity, {"tanh", "relu"}));
    if (o.given("--nonlinearity") && config.cell != CellKind::kElman) {
      throw UsageError("--nonlinearity: applies to the elman cell, not to " + o.cell);
    }
  }
  std::unique_ptr<ModelFile> model;
  if (o.given("--model")) {
    model = std::make_unique<ModelFile>(read_model(o.model));
    config = model->config;
  }
  if (dtype.empty()) dtype = model ? model->dtype : "float32";
  if (workloads.empty()) {  // a bidirectional network cannot stream
    workloads = {"train", "infer"};
    if (!config.bidirectional) workloads.push_back("stream");
  }
  std::vector<BenchRun> runs;
  bool sequences = false;
  for (const std::string& name : workloads) {
    plan.workload = parse_bench_workload(name);
    if (plan.workload == BenchWorkload::kStream && config.bidirectional) {
      throw UsageError(
          "--workload stream: a bidirectional network cannot stream (its reverse "
          "direction needs the whole sequence)");
    }
    sequences = sequences || plan.workload != BenchWorkload::kStream;
    runs.push_back(plan);
  }
  const bool single = dtype == "float32";
  check_sizes(config, plan, sequences, single ? sizeof(float) : sizeof(double));
  const std::vector<BenchResult> results =
      single ? bench_network<float>(config, model.get(), seed, runs)
             : bench_network<double>(config, model.get(), seed, runs);
  print_results(config, dtype, results, o.json);
  return 0;
}

int run_bench(const BenchOptions& o) {
  std::vector<std::string> workloads;  // empty: the network workloads' default
  if (o.given("--workload")) {
    workloads = parse_names("--workload", o.workload, "workload");
    for (const std::string& name : workloads) {
      if (name != "seed" && name != "train" && name != "infer" && name != "stream") {
        throw UsageError(
            "--workload: expected seed, train, infer or stream (or a list of the "
            "last three), got '" +
            name + "'");
      }
    }
    if (workloads.size() > 1 && std::ranges::find(workloads, "seed") != workloads.end()) {
      throw UsageError("--workload: seed (the notebook's run) goes alone, got '" + o.workload +
                       "'");
    }
  } else if (!o.given("--model")) {
    workloads = {"seed"};
  }
  if (workloads == std::vector<std::string>{"seed"}) {
    if (o.given("--model")) {
      throw UsageError("--model: times a network's workloads, not the seed run");
    }
    return run_seed_bench(o);
  }
  return run_network_bench(o, workloads);
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
                  "timed samples, of which the median is reported (default: 200 seed runs; of "
                  "a network's runs, as many as fill a second, at least 5)");
  cmd->add_flag("--json", options->json, "print the timings as one JSON object");
  cmd->add_option("--workload", options->workload,
                  "seed (the notebook's run; the default), or a network's: any of train, "
                  "infer, stream, comma-separated (with --model, all three by default)");
  cmd->add_option("--model", options->model,
                  "time this model file's network (safetensors) in place of a network of the "
                  "given sizes");
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
                  "second, at least 20)");
  return [options] { return run_bench(*options); };
}

}  // namespace recur::cli
