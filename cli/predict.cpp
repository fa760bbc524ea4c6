// recur predict: a trained model's predictions for a CSV file, in the data's own units.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "commands.hpp"
#include "flags.hpp"
#include "model_metadata.hpp"
#include "recur/error.hpp"
#include "recur/model_file.hpp"
#include "recur/safetensors.hpp"

namespace recur::cli {

namespace {

struct PredictOptions {
  std::string model, data, output, horizon = "0";
};

std::string number_text(double v) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Rows [first, last) of one sequence: its raw inputs, [rows, I].
struct InputSequence {
  std::string id;
  std::vector<double> inputs;
  int rows = 0;
};

std::vector<InputSequence> read_inputs(const CsvTable& table, const DataSpec& spec) {
  std::vector<int> columns;
  for (const std::string& name : spec.input_columns) columns.push_back(table.column(name));
  const int id_column = spec.sequence_column.empty() ? -1 : table.column(spec.sequence_column);
  std::vector<InputSequence> out;
  std::map<std::string, int> started;  // id -> line of its first row
  for (int r = 0; r < table.row_count(); ++r) {
    const std::string id = id_column < 0 ? "" : std::string(table.cell(r, id_column));
    if (out.empty() || out.back().id != id) {
      const int line = table.lines[r];
      if (const auto it = started.find(id); it != started.end()) {
        throw Error(table.source + ":" + std::to_string(line) + ": sequence \"" + id +
                    "\" started before, at line " + std::to_string(it->second) +
                    "; the rows of one sequence must be consecutive");
      }
      started[id] = line;
      out.push_back({id, {}, 0});
    }
    for (int c : columns) out.back().inputs.push_back(table.number(r, c));
    ++out.back().rows;
  }
  return out;
}

// Outputs [rows, O] as the targets were given: normalisation undone, or for cross-entropy,
// each row's class probabilities (softmax).
void to_data_units(const DataMetadata& meta, std::vector<double>& outputs) {
  if (meta.loss != LossKind::kCrossEntropy) return meta.normalization.invert_targets(outputs);
  const std::size_t O = meta.spec.target_columns.size();
  for (std::size_t row = 0; row + O <= outputs.size(); row += O) {
    double* y = outputs.data() + row;
    const double top = *std::max_element(y, y + O);
    double sum = 0;
    for (std::size_t f = 0; f < O; ++f) sum += (y[f] = std::exp(y[f] - top));
    for (std::size_t f = 0; f < O; ++f) y[f] /= sum;
  }
}

template <typename T>
int predict(const PredictOptions& o, const ModelFile& model, const DataMetadata& meta) {
  const int horizon = o.horizon == "0" ? 0 : parse_positive_int("--horizon", o.horizon);
  const DataSpec& spec = meta.spec;
  // Feeding predictions back needs every input to be something the model predicts.
  std::vector<int> fed_back;  // input index -> target index
  if (horizon > 0) {
    if (!spec.forecast) {
      throw UsageError("--horizon: " + o.model + " was not trained with --forecast");
    }
    if (model.config.bidirectional) {
      throw UsageError("--horizon: " + o.model +
                       " is bidirectional; its reverse direction needs the whole sequence");
    }
    for (const std::string& name : spec.input_columns) {
      const auto it = std::find(spec.target_columns.begin(), spec.target_columns.end(), name);
      if (it == spec.target_columns.end()) {
        throw UsageError("--horizon: input column \"" + name +
                         "\" is not predicted by the model, so it cannot be fed back");
      }
      fed_back.push_back(static_cast<int>(it - spec.target_columns.begin()));
    }
  }
  Network<T> network(model.config);
  load_parameters(model, network);
  const int I = model.config.input_size, O = model.config.output_size;
  const std::vector<InputSequence> sequences = read_inputs(read_csv(o.data), spec);

  std::string out;
  if (!spec.sequence_column.empty()) out += csv_field(spec.sequence_column) + ",";
  out += "step";
  for (const std::string& name : spec.target_columns) out += "," + csv_field(name);
  out += "\n";
  std::vector<T> x, state(network.state_size(1)), x_t(I), y_t(O);
  for (const InputSequence& s : sequences) {
    std::vector<double> inputs = s.inputs;
    meta.normalization.apply_inputs(inputs);
    const int extra = spec.forecast ? std::max(horizon, 1) - 1 : 0;
    x.assign(inputs.begin(), inputs.end());
    const auto y = network.forward(x, s.rows, 1);
    std::vector<double> predictions(y.begin(), y.end());  // [rows + extra, O], data units
    to_data_units(meta, predictions);
    // Past the end: each forecast becomes the next step's input, one streaming step at a time.
    network.final_state(state);
    for (int k = 0; k < extra; ++k) {
      std::vector<double> next(I);
      for (int i = 0; i < I; ++i) next[i] = predictions[predictions.size() - O + fed_back[i]];
      meta.normalization.apply_inputs(next);
      x_t.assign(next.begin(), next.end());
      network.step(x_t, state, y_t, 1);
      std::vector<double> values(y_t.begin(), y_t.end());
      to_data_units(meta, values);
      predictions.insert(predictions.end(), values.begin(), values.end());
    }
    const int rows = static_cast<int>(predictions.size()) / O;
    // Many-to-one models: the last real step, then any steps fed back past it.
    for (int t = meta.last_step_only ? rows - 1 - extra : 0; t < rows; ++t) {
      if (!spec.sequence_column.empty()) out += csv_field(s.id) + ",";
      out += std::to_string(spec.forecast ? t + 1 : t);  // the step whose value is predicted
      for (int f = 0; f < O; ++f) out += "," + number_text(predictions[t * O + f]);
      out += "\n";
    }
  }
  write_output(o.output, out);
  return 0;
}

}  // namespace

Command add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Predict with a trained model, as CSV");
  cmd->add_option("--model", o->model, "model file written by recur train");
  cmd->add_option("--data", o->data, "CSV file with the model's input columns");
  cmd->add_option("--horizon", o->horizon,
                  "forecast models: predict K steps past each sequence's end, feeding "
                  "predictions back (default: one step)");
  cmd->add_option("--output", o->output, "CSV file to write (default: standard output)");
  return [o] {
    if (o->model.empty()) throw UsageError("--model: expected a model file");
    if (o->data.empty()) throw UsageError("--data: expected a CSV file");
    const ModelFile model = read_model(o->model);
    const DataMetadata meta = data_metadata(model.metadata, o->model);
    if (!meta.vocabulary.empty()) {
      throw UsageError("--model: " + o->model +
                       " is a character model (trained with --text); use recur generate");
    }
    if (meta.spec.input_columns.size() != static_cast<std::size_t>(model.config.input_size) ||
        meta.spec.target_columns.size() != static_cast<std::size_t>(model.config.output_size)) {
      throw Error(o->model + ": its column names do not match its sizes");
    }
    return model.dtype == "float32" ? predict<float>(*o, model, meta)
                                    : predict<double>(*o, model, meta);
  };
}

}  // namespace recur::cli
