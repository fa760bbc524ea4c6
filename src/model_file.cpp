#include "recur/model_file.hpp"

#include <charconv>
#include <cmath>
#include <type_traits>

#include "recur/error.hpp"

namespace recur {

namespace {

// recur's tensor name -> the PyTorch name it is stored under.
const std::map<std::string, std::string>& file_names() {
  static const std::map<std::string, std::string> names = {
      {"rnn.weight_ih_l0", "rnn.weight_ih_l0"}, {"rnn.weight_hh_l0", "rnn.weight_hh_l0"},
      {"rnn.bias_l0", "rnn.bias_ih_l0"},        {"readout.weight", "readout.weight"},
      {"readout.bias", "readout.bias"},
  };
  return names;
}
constexpr const char* kSecondBias = "rnn.bias_hh_l0";

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

ModelFile parse_model(const Safetensors& file, const std::string& source) {
  ModelFile model;
  model.metadata = file.metadata;
  const auto& md = file.metadata;
  if (md.count("format") && md.at("format") != kModelFormat) {
    throw Error(source + ": format \"" + md.at("format") + "\", expected \"" + kModelFormat + "\"");
  }
  if (md.count("cell") && md.at("cell") != "elman") {
    throw Error(source + ": cell \"" + md.at("cell") + "\" is not supported; expected elman");
  }
  if (md.count("nonlinearity")) {
    const std::string& f = md.at("nonlinearity");
    if (f != "tanh" && f != "relu") {
      throw Error(source + ": nonlinearity \"" + f + "\" is not supported; expected tanh or relu");
    }
    model.config.nonlinearity = parse_nonlinearity(f);
  }
  if (md.count("layers") && md.at("layers") != "1") {
    throw Error(source + ": " + md.at("layers") + " layers; this version supports 1");
  }
  // Sizes: from the shapes, then checked against the metadata where it states them.
  const StoredTensor& weight_ih = require(file, "rnn.weight_ih_l0", source);
  const StoredTensor& weight_o = require(file, "readout.weight", source);
  if (weight_ih.shape.size() != 2 || weight_o.shape.size() != 2) {
    throw Error(source + ": rnn.weight_ih_l0 and readout.weight must be matrices, got " +
                shape_text(weight_ih.shape) + " and " + shape_text(weight_o.shape));
  }
  const auto positive_int = [&](std::int64_t v, const char* what) {
    if (v <= 0 || v > 1'000'000'000) {
      throw Error(source + ": " + what + " of " + std::to_string(v) + " is out of range");
    }
    return static_cast<int>(v);
  };
  model.config.hidden_size = positive_int(weight_ih.shape[0], "hidden size");
  model.config.input_size = positive_int(weight_ih.shape[1], "input size");
  model.config.output_size = positive_int(weight_o.shape[0], "output size");
  const std::pair<const char*, int> stated[] = {{"input_size", model.config.input_size},
                                                {"hidden_size", model.config.hidden_size},
                                                {"output_size", model.config.output_size}};
  for (const auto& [key, from_shapes] : stated) {
    if (md.count(key) && metadata_int(md, key, source) != from_shapes) {
      throw Error(source + ": metadata " + key + " is " + md.at(key) +
                  " but the tensors' shapes say " + std::to_string(from_shapes));
    }
  }
  const std::string dtype_stored = weight_ih.dtype;
  if (dtype_stored != "F32" && dtype_stored != "F64") {
    throw Error(source + ": rnn.weight_ih_l0 has dtype " + dtype_stored + ", expected F32 or F64");
  }
  model.dtype = dtype_stored == "F32" ? "float32" : "float64";
  if (md.count("dtype") && md.at("dtype") != model.dtype) {
    throw Error(source + ": metadata dtype is " + md.at("dtype") + " but the tensors are " +
                dtype_stored);
  }
  const int I = model.config.input_size, H = model.config.hidden_size, O = model.config.output_size;
  const std::map<std::string, std::vector<std::int64_t>> shapes = {
      {"rnn.weight_ih_l0", {H, I}}, {"rnn.weight_hh_l0", {H, H}}, {"rnn.bias_ih_l0", {H}},
      {kSecondBias, {H}},           {"readout.weight", {O, H}},   {"readout.bias", {O}}};
  for (const auto& [name, shape] : shapes) {
    const bool optional = name == kSecondBias;
    if (optional && !file.tensors.count(name)) continue;
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
      throw Error(source + ": unexpected tensor \"" + name +
                  "\"; recur reads one-layer, one-direction Elman models (the tensors of "
                  "nn.RNN(num_layers=1) and nn.Linear)");
    }
  }
  for (const auto& [ours, theirs] : file_names()) {
    model.tensors[ours] = file.tensors.at(theirs).to_doubles();
  }
  if (file.tensors.count(kSecondBias)) {
    const std::vector<double> second = file.tensors.at(kSecondBias).to_doubles();
    std::vector<double>& bias = model.tensors["rnn.bias_l0"];
    for (std::size_t i = 0; i < bias.size(); ++i) bias[i] += second[i];
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
  if (c.input_size != model.config.input_size || c.hidden_size != model.config.hidden_size ||
      c.output_size != model.config.output_size || c.nonlinearity != model.config.nonlinearity) {
    throw Error("load_parameters: the model's sizes differ from the network's");
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
    store(file_names().at(info.name), network.parameters().subspan(info.offset, info.size),
          info.shape);
  }
  const std::vector<T> zeros(network.config().hidden_size, T(0));
  store(kSecondBias, zeros, {network.config().hidden_size});
  file.metadata = extra;
  const NetworkConfig& c = network.config();
  file.metadata["format"] = kModelFormat;
  file.metadata["cell"] = "elman";
  file.metadata["nonlinearity"] = nonlinearity_name(c.nonlinearity);
  file.metadata["layers"] = "1";
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
