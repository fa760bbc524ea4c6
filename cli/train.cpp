// recur train: fit a model to a CSV file or a text file and save it as safetensors.
#include "recur/train.hpp"

#include <atomic>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "flags.hpp"
#include "model_metadata.hpp"
#include "progress.hpp"
#include "recur/checkpoint.hpp"
#include "recur/error.hpp"
#include "recur/init.hpp"
#include "recur/model_file.hpp"
#include "recur/safetensors.hpp"
#include "recur/schedule.hpp"
#include "train_data.hpp"

namespace recur::cli {

namespace {

// Ctrl-C (SIGINT) or SIGTERM during training: finish the batch under way, save a checkpoint
// that --resume continues exactly, and exit 128 + the signal. A second signal ends the
// program at once (the file on disk is then the last complete checkpoint: saves are atomic).
std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void request_stop(int signal) {
  int none = 0;
  stop_signal.compare_exchange_strong(none, signal);  // the first signal sets the exit status
  stop_requested.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

// Installs the handlers for its lifetime.
class StopOnSignal {
 public:
  StopOnSignal() {
    previous_int_ = std::signal(SIGINT, request_stop);
    previous_term_ = std::signal(SIGTERM, request_stop);
  }
  ~StopOnSignal() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

struct TrainOptions {
  std::string data, text, input_columns, target_columns, sequence_column;
  bool forecast = false;
  std::string window = "0", stride = "0", normalize = "zscore", validation = "0";
  std::string batch_size = "32", hidden = "32", epochs = "50", lr = "1e-2";
  std::string optimizer = "sgd", loss, dtype = "float32", seed = "0";
  std::string cell = "elman", layers = "1", dropout = "0";
  bool bidirectional = false;
  std::string momentum = "0", weight_decay, clip = "0", bptt = "0";
  std::string nonlinearity = "tanh", init_method = "pytorch", target = "every";
  std::string schedule = "constant", step_size = "10", gamma = "0.1", min_lr = "0", warmup = "0";
  bool nesterov = false;
  std::string save, init, log, checkpoint_every = "0", resume;
  // To tell a given flag from its default: a model from --init or --resume keeps its own.
  const CLI::Option* hidden_flag = nullptr;
  const CLI::Option* nonlinearity_flag = nullptr;
  const CLI::Option* cell_flag = nullptr;
  const CLI::Option* layers_flag = nullptr;
  const CLI::Option* bidirectional_flag = nullptr;
  const CLI::Option* dropout_flag = nullptr;
};

// Everything a resumed run must share with the run it continues.
nlohmann::json run_identity(const TrainOptions& o, const std::string& data_checksum) {
  return {{"data_checksum", data_checksum},
          {"text", !o.text.empty()},
          {"cell", o.cell},
          {"layers", o.layers},
          {"bidirectional", o.bidirectional},
          {"dropout", o.dropout},
          {"input_columns", o.input_columns},
          {"target_columns", o.target_columns},
          {"sequence_column", o.sequence_column},
          {"forecast", o.forecast},
          {"window", o.window},
          {"stride", o.stride},
          {"normalize", o.normalize},
          {"validation", o.validation},
          {"batch_size", o.batch_size},
          {"hidden", o.hidden},
          {"lr", o.lr},
          {"optimizer", o.optimizer},
          {"momentum", o.momentum},
          {"nesterov", o.nesterov},
          {"weight_decay", o.weight_decay},
          {"clip", o.clip},
          {"bptt", o.bptt},
          {"target", o.target},
          {"nonlinearity", o.nonlinearity},
          {"init_method", o.init_method},
          {"schedule", o.schedule},
          {"step_size", o.step_size},
          {"gamma", o.gamma},
          {"min_lr", o.min_lr},
          {"warmup", o.warmup},
          // A cosine schedule spans all epochs, so it changes with --epochs.
          {"schedule_epochs", o.schedule == "cosine" ? o.epochs : ""},
          {"loss", o.loss},
          {"dtype", o.dtype},
          {"seed", o.seed},
          {"init", o.init}};
}

// FNV-1a of the data file's bytes, read a block at a time: a resumed run must see the same
// data.
std::string checksum(const std::string& path) {
  std::uint64_t size = 0;
  std::ifstream in = open_input(path, size);
  std::uint64_t h = 1469598103934665603ULL;
  read_blocks(in, path, 1 << 16, [&](std::string_view block) {
    for (char c : block) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  });
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

template <typename T>
int train(const TrainOptions& o) {
  // Every flag is checked before anything is read or written.
  const bool text = !o.text.empty();
  if (o.data.empty() == !text) {
    throw UsageError("--data or --text: expected one of them, a CSV file or a text file");
  }
  if (o.save.empty()) throw UsageError("--save: expected the path of the model file to write");
  if (text) {
    const std::pair<const char*, bool> csv_only[] = {
        {"--input-columns", !o.input_columns.empty()},
        {"--target-columns", !o.target_columns.empty()},
        {"--sequence-column", !o.sequence_column.empty()},
        {"--forecast", o.forecast},
        {"--stride", o.stride != "0"},
        {"--target", o.target != "every"}};
    for (const auto& [flag, given] : csv_only) {
      if (given) throw UsageError(std::string(flag) + ": applies to --data (CSV), not --text");
    }
    if (!o.loss.empty() && o.loss != "cross-entropy") {
      throw UsageError("--loss: a text model is trained with cross-entropy, got " + o.loss);
    }
  }
  DataMetadata meta;
  if (!text) {
    meta.spec.input_columns = parse_names("--input-columns", o.input_columns);
    meta.spec.target_columns = parse_names("--target-columns", o.target_columns);
  }
  meta.spec.sequence_column = o.sequence_column;
  meta.spec.forecast = o.forecast;
  meta.spec.window = o.window == "0" ? (text ? 100 : 0) : parse_positive_int("--window", o.window);
  meta.spec.stride = o.stride == "0" ? 0 : parse_positive_int("--stride", o.stride);
  meta.normalize = parse_choice("--normalize", o.normalize, {"zscore", "none"});
  meta.loss =
      parse_loss(parse_choice("--loss", o.loss.empty() ? (text ? "cross-entropy" : "mse") : o.loss,
                              {"sse", "mse", "cross-entropy"}));
  TrainSettings settings;
  settings.optimizer.kind = parse_optimizer(
      parse_choice("--optimizer", o.optimizer, {"sgd", "adam", "adamw", "rmsprop"}));
  settings.optimizer.momentum = parse_fraction("--momentum", o.momentum);
  settings.optimizer.nesterov = o.nesterov;
  if (o.nesterov && settings.optimizer.momentum == 0) {
    throw UsageError("--nesterov: needs a --momentum above 0");
  }
  if (o.nesterov && settings.optimizer.kind != OptimizerKind::kSgd) {
    throw UsageError("--nesterov: applies to sgd only");
  }
  if (settings.optimizer.momentum > 0 && (settings.optimizer.kind == OptimizerKind::kAdam ||
                                          settings.optimizer.kind == OptimizerKind::kAdamW)) {
    throw UsageError("--momentum: applies to sgd and rmsprop; adam keeps its own moments");
  }
  // torch.optim's defaults: AdamW decays by 1e-2, the others not at all.
  const bool adamw = settings.optimizer.kind == OptimizerKind::kAdamW;
  settings.optimizer.weight_decay = o.weight_decay.empty() ? (adamw ? 1e-2 : 0.0)
                                    : o.weight_decay == "0"
                                        ? 0.0
                                        : parse_positive_finite("--weight-decay", o.weight_decay);
  settings.clip = o.clip == "0" ? 0.0 : parse_positive_finite("--clip", o.clip);
  settings.bptt = o.bptt == "0" ? 0 : parse_positive_int("--bptt", o.bptt);
  settings.last_step_only = parse_choice("--target", o.target, {"every", "last"}) == "last";
  meta.last_step_only = settings.last_step_only;
  ScheduleSettings schedule;
  schedule.kind =
      parse_schedule(parse_choice("--schedule", o.schedule, {"constant", "step", "cosine"}));
  schedule.step_size = parse_positive_int("--step-size", o.step_size);
  schedule.gamma = parse_positive_finite("--gamma", o.gamma);
  schedule.min_lr = o.min_lr == "0" ? 0.0 : parse_positive_finite("--min-lr", o.min_lr);
  schedule.warmup = o.warmup == "0" ? 0 : parse_positive_int("--warmup", o.warmup);
  if (schedule.warmup > 0 && schedule.min_lr > 0) {
    // torch chains the two recursively, which equals the product recur computes only when
    // the cosine ends at 0.
    throw UsageError("--warmup: cannot be combined with --min-lr above 0");
  }
  const double validation = parse_fraction("--validation", o.validation);
  settings.batch_size = parse_positive_int("--batch-size", o.batch_size);
  settings.optimizer.learning_rate = parse_positive_finite("--lr", o.lr);
  settings.loss = meta.loss;
  settings.seed = parse_seed("--seed", o.seed);
  const InitMethod init_method = parse_init_method(
      parse_choice("--init-method", o.init_method, {"pytorch", "xavier", "orthogonal", "numpy"}));
  NetworkConfig config;
  config.hidden_size = parse_positive_int("--hidden", o.hidden);
  config.nonlinearity =
      parse_nonlinearity(parse_choice("--nonlinearity", o.nonlinearity, {"tanh", "relu"}));
  config.cell = parse_cell(parse_choice("--cell", o.cell, {"elman", "lstm", "gru"}));
  config.layers = parse_positive_int("--layers", o.layers);
  config.bidirectional = o.bidirectional;
  if (o.nonlinearity_flag->count() > 0 && config.cell != CellKind::kElman) {
    throw UsageError("--nonlinearity: applies to the elman cell; " + o.cell +
                     " has its own gates' functions");
  }
  config.dropout = parse_fraction("--dropout", o.dropout);
  const int epochs = parse_positive_int("--epochs", o.epochs);
  const int checkpoint_every =
      o.checkpoint_every == "0" ? 0 : parse_positive_int("--checkpoint-every", o.checkpoint_every);

  if (settings.bptt > 0 && config.bidirectional) {
    throw UsageError(
        "--bptt: truncated BPTT carries the state forward in time, which the "
        "reverse direction of --bidirectional cannot use");
  }

  // Data: sequences, the validation split (the last sequences), normalisation from training.
  const std::string& source = text ? o.text : o.data;
  TrainingData data = text ? load_text(o.text, meta.spec.window, validation, meta)
                           : load_csv(o.data, validation, meta);
  const int inputs = data.inputs, targets = data.targets;
  const std::vector<Sequence>& sequences = data.train;
  const std::vector<Sequence>& validation_set = data.validation;

  // The network: resumed, started from a file, or new.
  const nlohmann::json identity = run_identity(o, checksum(source));
  int first_epoch = 0;
  std::unique_ptr<ModelFile> start;
  Safetensors resumed;  // the checkpoint, for the optimizer's state
  if (!o.resume.empty()) {
    resumed = read_safetensors(o.resume);
    start = std::make_unique<ModelFile>(parse_model(resumed, o.resume));
    const auto& md = start->metadata;
    if (!md.count("train_run") || !md.count("epochs_done")) {
      throw UsageError("--resume: " + o.resume + " is not a checkpoint of `recur train`");
    }
    nlohmann::json before;
    try {
      before = nlohmann::json::parse(md.at("train_run"));
    } catch (const nlohmann::json::exception&) {
      throw Error(o.resume + ": metadata train_run is not valid JSON");
    }
    if (!before.is_object()) throw Error(o.resume + ": metadata train_run is not an object");
    for (const auto& [key, value] : identity.items()) {
      if (!before.contains(key) || before[key] != value) {
        throw UsageError("--resume: the checkpoint's run had " + key + " = " +
                         (before.contains(key) ? before[key].dump() : "nothing") +
                         ", this run has " + value.dump() +
                         "; resume with the same data and flags");
      }
    }
    const std::string& done = md.at("epochs_done");
    const auto [end, ec] = std::from_chars(done.data(), done.data() + done.size(), first_epoch);
    if (ec != std::errc() || end != done.data() + done.size() || first_epoch < 0 ||
        first_epoch > epochs) {
      throw Error(o.resume + ": metadata epochs_done is \"" + done +
                  "\", expected 0 to --epochs (" + std::to_string(epochs) + ")");
    }
  } else if (!o.init.empty()) {
    start = std::make_unique<ModelFile>(read_model(o.init));
  }
  if (start) {
    if (start->config.input_size != inputs || start->config.output_size != targets) {
      throw Error((o.resume.empty() ? o.init : o.resume) + ": the model takes " +
                  std::to_string(start->config.input_size) + " inputs and gives " +
                  std::to_string(start->config.output_size) + " outputs; the data has " +
                  std::to_string(inputs) + " and " + std::to_string(targets));
    }
    // A model from a file keeps its own shape; a flag given explicitly must agree with it.
    const std::string& from = o.resume.empty() ? o.init : o.resume;
    const NetworkConfig& c = start->config;
    const auto agree = [&](const CLI::Option* flag, bool same, const std::string& given,
                           const std::string& has) {
      if (flag->count() > 0 && !same) {
        throw UsageError(flag->get_name() + ": " + given + ", but " + from + " has " + has);
      }
    };
    agree(o.hidden_flag, config.hidden_size == c.hidden_size, o.hidden,
          "hidden size " + std::to_string(c.hidden_size));
    agree(o.nonlinearity_flag, config.nonlinearity == c.nonlinearity, o.nonlinearity,
          nonlinearity_name(c.nonlinearity));
    agree(o.cell_flag, config.cell == c.cell, o.cell, std::string("cell ") + cell_name(c.cell));
    agree(o.layers_flag, config.layers == c.layers, o.layers,
          std::to_string(c.layers) + " layer(s)");
    agree(o.bidirectional_flag, config.bidirectional == c.bidirectional, "given",
          c.bidirectional ? "two directions" : "one direction");
    const double dropout = o.dropout_flag->count() > 0 ? config.dropout : c.dropout;
    config = c;
    config.dropout = dropout;
  }
  config.input_size = inputs;
  config.output_size = targets;
  Network<T> network(config);
  if (start) {
    load_parameters(*start, network);
  } else {
    NumpyRandom random(settings.seed);
    initialize(network, init_method, random);
  }

  Trainer<T> trainer(network, sequences, validation_set, settings);
  if (!o.resume.empty()) {
    restore_optimizer_state(resumed, o.resume, trainer.optimizer());
    const auto position = start->metadata.find("epoch_position");
    if (position != start->metadata.end()) {
      const EpochPosition p = parse_position(position->second, o.resume);
      if (p.epoch >= epochs) {
        throw UsageError("--epochs: " + std::to_string(epochs) + ", but " + o.resume +
                         " stopped inside epoch " + std::to_string(p.epoch + 1));
      }
      if (p.epoch != first_epoch) {
        throw Error(o.resume + ": metadata epoch_position is for epoch " +
                    std::to_string(p.epoch + 1) + ", but epochs_done is " +
                    std::to_string(first_epoch));
      }
      try {
        trainer.set_position(p);
      } catch (const Error& e) {
        throw Error(o.resume + ": " + e.what());
      }
    }
  }
  std::unique_ptr<std::ofstream> log;
  if (!o.log.empty()) {
    log = std::make_unique<std::ofstream>(o.log, std::ios::app);
    if (!*log) throw Error(o.log + ": cannot open for appending");
  }
  // What o.save holds from this run, for the message if training diverges.
  std::string saved = o.save == o.resume ? o.save + " keeps the checkpoint it was resumed from"
                                         : "nothing was saved";
  auto save = [&](int epochs_done) {
    std::map<std::string, std::string> extra = to_metadata(meta);
    extra["train_run"] = identity.dump();
    extra["epochs_done"] = std::to_string(epochs_done);
    if (trainer.position().epoch >= 0) {  // stopped inside an epoch
      extra["epoch_position"] = position_metadata(trainer.position());
    }
    Safetensors file = model_safetensors(network, extra);
    add_optimizer_state(trainer.optimizer(), file);
    write_safetensors(o.save, file);
    saved = o.save + " keeps the checkpoint of " +
            (trainer.position().epoch >= 0
                 ? "epoch " + std::to_string(epochs_done + 1) + " after batch " +
                       std::to_string(trainer.position().batches)
                 : "epoch " + std::to_string(epochs_done));
  };
  Progress progress(epochs, text);
  // Saves where training stands and says how to go on; the exit status of the signal.
  const auto interrupted = [&](int epochs_done) {
    save(epochs_done);
    progress.interrupted();
    const EpochPosition& at = trainer.position();
    std::string where = at.epoch >= 0 ? "in epoch " + std::to_string(at.epoch + 1) +
                                            " after batch " + std::to_string(at.batches) + " of " +
                                            std::to_string(trainer.batches_per_epoch())
                                      : "after epoch " + std::to_string(epochs_done);
    std::fprintf(stderr, "recur: interrupted %s; saved %s (continue with --resume %s)\n",
                 where.c_str(), o.save.c_str(), o.save.c_str());
    return 128 + stop_signal.load();
  };
  const StopOnSignal stop_on_signal;
  trainer.set_stop(&stop_requested);
  for (int epoch = first_epoch; epoch < epochs; ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    const double lr =
        scheduled_learning_rate(schedule, settings.optimizer.learning_rate, epoch, epochs);
    trainer.optimizer().set_learning_rate(lr);
    double loss = 0.0;
    try {
      loss = trainer.run_epoch(epoch, [&](int step, int steps, double running, double norm) {
        progress.step(epoch + 1, step, steps, running, norm);
      });
    } catch (const Error& e) {  // divergence: say what the file on disk still holds
      throw Error(std::string(e.what()) + "; " + saved);
    }
    if (trainer.position().epoch >= 0) return interrupted(epoch);  // between two batches
    const double validation_loss = validation_set.empty() ? NAN : trainer.evaluate(validation_set);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    progress.epoch_done(epoch + 1, loss, validation_loss, trainer.mean_grad_norm());
    if (log) {
      nlohmann::json line = {{"epoch", epoch + 1},
                             {"loss", loss},
                             {"grad_norm", trainer.mean_grad_norm()},
                             {"lr", lr},
                             {"steps", trainer.batches_per_epoch()},
                             {"seconds", seconds}};
      line["validation_loss"] =
          validation_set.empty() ? nlohmann::json() : nlohmann::json(validation_loss);
      if (text) {  // cross-entropy in nats, also as bits per character
        line["bpc"] = loss / std::log(2.0);
        line["validation_bpc"] = validation_set.empty()
                                     ? nlohmann::json()
                                     : nlohmann::json(validation_loss / std::log(2.0));
      }
      *log << line.dump() << '\n' << std::flush;
    }
    if (checkpoint_every > 0 && (epoch + 1) % checkpoint_every == 0) save(epoch + 1);
    if (stop_requested.load() && epoch + 1 < epochs) return interrupted(epoch + 1);
  }
  save(epochs);
  return 0;
}

}  // namespace

Command add_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model on a CSV file and save it");
  cmd->add_option("--data", o->data, "CSV file with a header row");
  cmd->add_option("--text", o->text,
                  "UTF-8 text file: a character model (vocabulary from the file, one-hot "
                  "inputs, cross-entropy on the next character)");
  cmd->add_option("--input-columns", o->input_columns, "input features, comma-separated");
  cmd->add_option("--target-columns", o->target_columns, "targets, comma-separated");
  cmd->add_option("--sequence-column", o->sequence_column,
                  "column whose value names each row's sequence (consecutive rows)");
  cmd->add_flag("--forecast", o->forecast, "targets are the next step's values");
  cmd->add_option("--window", o->window,
                  "cut sequences into windows of N steps (0: whole; --text: 100)")
      ->capture_default_str();
  cmd->add_option("--stride", o->stride, "steps between window starts (0: the window)")
      ->capture_default_str();
  cmd->add_option("--normalize", o->normalize, "zscore or none")->capture_default_str();
  cmd->add_option("--validation", o->validation, "fraction of sequences held out, from the end")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "sequences per step")->capture_default_str();
  o->hidden_flag = cmd->add_option("--hidden", o->hidden,
                                   "hidden size (default 32; a model "
                                   "from --init or --resume keeps its own)")
                       ->capture_default_str();
  o->nonlinearity_flag =
      cmd->add_option("--nonlinearity", o->nonlinearity, "the Elman cell's: tanh or relu")
          ->capture_default_str();
  o->cell_flag = cmd->add_option("--cell", o->cell, "elman, lstm or gru")->capture_default_str();
  o->layers_flag =
      cmd->add_option("--layers", o->layers, "stacked recurrent layers")->capture_default_str();
  o->bidirectional_flag = cmd->add_flag("--bidirectional", o->bidirectional,
                                        "run each layer both ways and concatenate the outputs");
  o->dropout_flag = cmd->add_option("--dropout", o->dropout,
                                    "dropout on the inputs of layers 2.., in training only")
                        ->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "passes over the training data")->capture_default_str();
  cmd->add_option("--lr", o->lr, "learning rate")->capture_default_str();
  cmd->add_option("--optimizer", o->optimizer, "sgd, adam, adamw or rmsprop (torch.optim's)")
      ->capture_default_str();
  cmd->add_option("--momentum", o->momentum, "momentum for sgd and rmsprop")->capture_default_str();
  cmd->add_flag("--nesterov", o->nesterov, "Nesterov momentum (sgd)");
  cmd->add_option("--weight-decay", o->weight_decay,
                  "L2 weight decay; adamw's is decoupled, as torch.optim.AdamW (default: 0, "
                  "or 0.01 for adamw, torch's defaults)");
  cmd->add_option("--clip", o->clip, "clip gradients to this global norm (0: off)")
      ->capture_default_str();
  cmd->add_option("--target", o->target,
                  "every: a target at every step; last: only each sequence's last step "
                  "(many-to-one: sequence classification and regression)")
      ->capture_default_str();
  cmd->add_option("--bptt", o->bptt,
                  "truncated BPTT: chunks of K steps, one update each, the state carried "
                  "(0: full BPTT)")
      ->capture_default_str();
  cmd->add_option("--schedule", o->schedule, "learning rate by epoch: constant, step or cosine")
      ->capture_default_str();
  cmd->add_option("--step-size", o->step_size, "step schedule: epochs between decays")
      ->capture_default_str();
  cmd->add_option("--gamma", o->gamma, "step schedule: factor at each decay")
      ->capture_default_str();
  cmd->add_option("--min-lr", o->min_lr, "cosine schedule: the final learning rate")
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "epochs of linear warm-up (0: none)")
      ->capture_default_str();
  cmd->add_option("--loss", o->loss,
                  "mse, sse or cross-entropy (softmax over the targets, one-hot classes; "
                  "default: mse, or cross-entropy for --text)");
  cmd->add_option("--dtype", o->dtype, "float32 or float64")->capture_default_str();
  cmd->add_option("--seed", o->seed, "initialisation and shuffling seed")->capture_default_str();
  cmd->add_option("--save", o->save, "model file to write (safetensors)");
  cmd->add_option("--init", o->init, "start from this model file (recur's or PyTorch's)");
  cmd->add_option("--init-method", o->init_method,
                  "new models: pytorch (U(+-1/sqrt(H))), xavier, orthogonal (recurrent "
                  "weights; xavier for the rest) or numpy (the seed's randn * 0.01)")
      ->capture_default_str();
  cmd->add_option("--log", o->log, "append one JSON line per epoch to this file");
  cmd->add_option("--checkpoint-every", o->checkpoint_every,
                  "save to --save every K epochs (0: only at the end)")
      ->capture_default_str();
  cmd->add_option("--resume", o->resume, "continue the run checkpointed in this file");
  return [o] {
    const std::string dtype = parse_choice("--dtype", o->dtype, {"float32", "float64"});
    return dtype == "float32" ? train<float>(*o) : train<double>(*o);
  };
}

}  // namespace recur::cli
