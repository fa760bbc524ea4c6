#include "recur/model_file.hpp"

#include <charconv>
#include <cmath>
#include <set>
#include <string_view>
#include <type_traits>

#include "recur/error.hpp"

namespace recur {

namespace {

// recur's one summed bias (Elman, LSTM) is stored as PyTorch's bias_ih, with bias_hh beside it.
constexpr std::string_view kSummedBias = "rnn.bias_l";

bool is_summed_bias(const std::string& name) {
  return name.starts_with(kSummedBias);
}
std::string first_bias(const std::string& name) {
  return "rnn.bias_ih_l" + name.substr(kSummedBias.size());
}
std::string second_bias(const std::string& name) {
  return "rnn.bias_hh_l" + name.substr(kSummedBias.size());
}

// The shortest text that reads back as the same double.
std::string number_text(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc() ? end : buffer);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return out + "]";
}

int metadata_int(const std::map<std::string, std::string>& metadata, const std::string& key,
                 const std::string& source) {
  const std::string& text = metadata.at(key);
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value <= 0) {
    throw Error(source + ": metadata " + key + " is \"" + text + "\", expected a positive integer");
  }
  return value;
}

const StoredTensor& require(const Safetensors& file, const std::string& name,
                            const std::string& source) {
  const auto it = file.tensors.find(name);
  if (it == file.tensors.end()) throw Error(source + ": missing tensor \"" + name + "\"");
  return it->second;
}

}  // namespace

// The configuration from the tensors' shapes and names (a file from PyTorch has nothing else),
// checked against the metadata wherever that states something too.
NetworkConfig infer_config(const Safetensors& file, const std::string& source) {
  const auto& md = file.metadata;
  NetworkConfig config;
  const StoredTensor& weight_ih = require(file, "rnn.weight_ih_l0", source);
  const StoredTensor& weight_hh = require(file, "rnn.weight_hh_l0", source);
  const StoredTensor& weight_o = require(file, "readout.weight", source);
  if (weight_ih.shape.size() != 2 || weight_hh.shape.size() != 2 || weight_o.shape.size() != 2) {
    throw Error(source +
                ": rnn.weight_ih_l0, rnn.weight_hh_l0 and readout.weight must be "
                "matrices, got " +
                shape_text(weight_ih.shape) + ", " + shape_text(weight_hh.shape) + " and " +
                shape_text(weight_o.shape));
  }
  const auto positive_int = [&](std::int64_t v, const char* what) {
    if (v <= 0 || v > 1'000'000'000) {
      throw Error(source + ": " + what + " of " + std::to_string(v) + " is out of range");
    }
    return static_cast<int>(v);
  };
  // H as the metadata states it (then every shape is checked against it), else weight_hh's.
  config.hidden_size = md.count("hidden_size") ? metadata_int(md, "hidden_size", source)
                                               : positive_int(weight_hh.shape[1], "hidden size");
  if (config.hidden_size > (1 << 26)) {
    throw Error(source + ": hidden size " + std::to_string(config.hidden_size) +
                " is out of range");
  }
  config.input_size = positive_int(weight_ih.shape[1], "input size");
  config.output_size = positive_int(weight_o.shape[0], "output size");
  const std::int64_t rows = weight_hh.shape[0];
  const std::int64_t gates = rows % config.hidden_size == 0 ? rows / config.hidden_size : 0;
  if (md.count("cell")) {
    const std::string& cell = md.at("cell");
    if (cell != "elman" && cell != "lstm" && cell != "gru") {
      throw Error(source + ": cell \"" + cell + "\" is not supported; expected elman, lstm or gru");
    }
    config.cell = parse_cell(cell);
  } else if (gates == 4 || gates == 3) {
    config.cell = gates == 4 ? CellKind::kLstm : CellKind::kGru;
  }
  if (gates != gate_count(config.cell)) {
    throw Error(source + ": rnn.weight_hh_l0 has shape " + shape_text(weight_hh.shape) +
                ", expected [" + std::to_string(gate_count(config.cell)) + " * " +
                std::to_string(config.hidden_size) + ", " + std::to_string(config.hidden_size) +
                "] for a" + (config.cell == CellKind::kElman ? "n " : " ") +
                cell_name(config.cell) + " cell");
  }
  if (md.count("nonlinearity")) {
    const std::string& f = md.at("nonlinearity");
    if (f != "tanh" && f != "relu") {
      throw Error(source + ": nonlinearity \"" + f + "\" is not supported; expected tanh or relu");
    }
    config.nonlinearity = parse_nonlinearity(f);
  }
  while (config.layers < 10'000 &&
         file.tensors.count("rnn.weight_ih_l" + std::to_string(config.layers))) {
    ++config.layers;
  }
  config.bidirectional = file.tensors.count("rnn.weight_ih_l0_reverse") > 0;
  const std::pair<const char*, int> stated[] = {{"input_size", config.input_size},
                                                {"output_size", config.output_size},
                                                {"layers", config.layers}};
  for (const auto& [key, from_shapes] : stated) {
    if (md.count(key) && metadata_int(md, key, source) != from_shapes) {
      throw Error(source + ": metadata " + key + " is " + md.at(key) +
                  " but the tensors' shapes say " + std::to_string(from_shapes));
    }
  }
  if (md.count("bidirectional") &&
      md.at("bidirectional") != (config.bidirectional ? "true" : "false")) {
    throw Error(source + ": metadata bidirectional is \"" + md.at("bidirectional") +
                "\" but the tensors say " + (config.bidirectional ? "true" : "false"));
  }
  if (md.count("dropout")) {
    const std::string& text = md.at("dropout");
    double p = -1;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
    if (ec != std::errc() || ptr != text.data() + text.size() || !(p >= 0 && p < 1)) {
      throw Error(source + ": metadata dropout is \"" + text + "\", expected a number in [0, 1)");
    }
    config.dropout = p;
  }
  return config;
}

ModelFile parse_model(const Safetensors& file, const std::string& source) {
  ModelFile model;
  model.metadata = file.metadata;
  const auto& md = file.metadata;
  if (md.count("format") && md.at("format") != kModelFormat) {
    throw Error(source + ": format \"" + md.at("format") + "\", expected \"" + kModelFormat + "\"");
  }
  model.config = infer_config(file, source);
  const std::string dtype_stored = require(file, "rnn.weight_ih_l0", source).dtype;
  if (dtype_stored != "F32" && dtype_stored != "F64") {
    throw Error(source + ": rnn.weight_ih_l0 has dtype " + dtype_stored + ", expected F32 or F64");
  }
  model.dtype = dtype_stored == "F32" ? "float32" : "float64";
  if (md.count("dtype") && md.at("dtype") != model.dtype) {
    throw Error(source + ": metadata dtype is " + md.at("dtype") + " but the tensors are " +
                dtype_stored);
  }
  // Every tensor the configuration calls for, by the name it is stored under.
  std::map<std::string, std::vector<std::int64_t>> shapes;
  std::set<std::string> optional;
  for (const TensorInfo& t : network_tensors(model.config)) {
    const std::vector<std::int64_t> shape(t.shape.begin(), t.shape.end());
    if (is_summed_bias(t.name)) {
      shapes[first_bias(t.name)] = shape;
      shapes[second_bias(t.name)] = shape;
      optional.insert(second_bias(t.name));
    } else {
      shapes[t.name] = shape;
    }
  }
  for (const auto& [name, shape] : shapes) {
    if (optional.count(name) && !file.tensors.count(name)) continue;
    const StoredTensor& t = require(file, name, source);
    if (t.shape != shape) {
      throw Error(source + ": tensor \"" + name + "\" has shape " + shape_text(t.shape) +
                  ", expected " + shape_text(shape));
    }
    if (t.dtype != dtype_stored) {
      throw Error(source + ": tensor \"" + name + "\" has dtype " + t.dtype + ", the others " +
                  dtype_stored);
    }
  }
  for (const auto& [name, tensor] : file.tensors) {
    if (name.starts_with(kOptimizerPrefix)) continue;  // training state, not the model
    if (!shapes.count(name)) {
      throw Error(source + ": unexpected tensor \"" + name + "\" for a " +
                  std::to_string(model.config.layers) + "-layer" +
                  (model.config.bidirectional ? " bidirectional " : " ") +
                  cell_name(model.config.cell) +
                  " model (recur reads the tensors of one nn.RNN, nn.LSTM or nn.GRU named rnn "
                  "and one nn.Linear named readout)");
    }
  }
  for (const TensorInfo& t : network_tensors(model.config)) {
    if (!is_summed_bias(t.name)) {
      model.tensors[t.name] = file.tensors.at(t.name).to_doubles();
      continue;
    }
    std::vector<double> bias = file.tensors.at(first_bias(t.name)).to_doubles();
    const auto second = file.tensors.find(second_bias(t.name));
    if (second != file.tensors.end()) {
      const std::vector<double> values = second->second.to_doubles();
      for (std::size_t i = 0; i < bias.size(); ++i) bias[i] += values[i];
    }
    model.tensors[t.name] = std::move(bias);
  }
  for (const auto& [name, values] : model.tensors) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        throw Error(source + ": tensor \"" + name + "\" holds " + std::to_string(values[i]) +
                    " at index " + std::to_string(i) + "; a model's values must be finite");
      }
    }
  }
  return model;
}

ModelFile read_model(const std::string& path) {
  return parse_model(read_safetensors(path), path);
}

template <typename T>
void load_parameters(const ModelFile& model, Network<T>& network) {
  const NetworkConfig& c = network.config();
  const NetworkConfig& m = model.config;
  if (c.input_size != m.input_size || c.hidden_size != m.hidden_size ||
      c.output_size != m.output_size || c.nonlinearity != m.nonlinearity || c.cell != m.cell ||
      c.layers != m.layers || c.bidirectional != m.bidirectional) {
    throw Error("load_parameters: the model's cell or sizes differ from the network's");
  }
  for (const TensorInfo& info : network.tensors()) {
    const std::vector<double>& values = model.tensors.at(info.name);
    std::span<T> dest = network.parameter(info.name);
    for (std::size_t i = 0; i < values.size(); ++i) dest[i] = static_cast<T>(values[i]);
  }
}

template <typename T>
Safetensors model_safetensors(const Network<T>& network,
                              const std::map<std::string, std::string>& extra) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  Safetensors file;
  const auto store = [&](const std::string& name, std::span<const T> values,
                         const std::vector<int>& shape) {
    const std::vector<std::int64_t> shape64(shape.begin(), shape.end());
    file.tensors[name] =
        std::is_same_v<T, float>
            ? StoredTensor::from_floats(
                  {reinterpret_cast<const float*>(values.data()), values.size()}, shape64)
            : StoredTensor::from_doubles(
                  {reinterpret_cast<const double*>(values.data()), values.size()}, shape64);
  };
  for (const TensorInfo& info : network.tensors()) {
    const auto values = network.parameters().subspan(info.offset, info.size);
    if (is_summed_bias(info.name)) {
      store(first_bias(info.name), values, info.shape);
      store(second_bias(info.name), std::vector<T>(info.size, T(0)), info.shape);
    } else {
      store(info.name, values, info.shape);
    }
  }
  file.metadata = extra;
  const NetworkConfig& c = network.config();
  file.metadata["format"] = kModelFormat;
  file.metadata["cell"] = cell_name(c.cell);
  file.metadata["nonlinearity"] = nonlinearity_name(c.nonlinearity);
  file.metadata["layers"] = std::to_string(c.layers);
  file.metadata["bidirectional"] = c.bidirectional ? "true" : "false";
  file.metadata["dropout"] = number_text(c.dropout);
  file.metadata["input_size"] = std::to_string(c.input_size);
  file.metadata["hidden_size"] = std::to_string(c.hidden_size);
  file.metadata["output_size"] = std::to_string(c.output_size);
  file.metadata["dtype"] = std::is_same_v<T, float> ? "float32" : "float64";
  return file;
}

template <typename T>
void write_model(const std::string& path, const Network<T>& network,
                 const std::map<std::string, std::string>& extra) {
  write_safetensors(path, model_safetensors(network, extra));
}

#define RECUR_INSTANTIATE(T)                                                            \
  template void load_parameters<T>(const ModelFile&, Network<T>&);                      \
  template Safetensors model_safetensors<T>(const Network<T>&,                          \
                                            const std::map<std::string, std::string>&); \
  template void write_model<T>(const std::string&, const Network<T>&,                   \
                               const std::map<std::string, std::string>&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
#undef RECUR_INSTANTIATE

}  // namespace recur
