// Model files: PyTorch's names, the one-bias mapping, and files that disagree with themselves.
#include "recur/model_file.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "recur/error.hpp"
#include "recur/random.hpp"

namespace recur {
namespace {

template <typename T>
Network<T> random_network(const NetworkConfig& config, std::uint32_t seed) {
  Network<T> net(config);
  NumpyRandom random(seed);
  for (T& p : net.parameters()) p = static_cast<T>(random.randn());
  return net;
}

std::string error_of(const Safetensors& file) {
  try {
    parse_model(file, "m.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ModelFile, UsesPyTorchsStateDictNames) {
  const auto net = random_network<float>({3, 4, 2}, 1);
  const Safetensors file = model_safetensors(net, {{"loss", "mse"}});
  const std::map<std::string, std::vector<std::int64_t>> expected = {
      {"rnn.weight_ih_l0", {4, 3}}, {"rnn.weight_hh_l0", {4, 4}}, {"rnn.bias_ih_l0", {4}},
      {"rnn.bias_hh_l0", {4}},      {"readout.weight", {2, 4}},   {"readout.bias", {2}}};
  ASSERT_EQ(file.tensors.size(), expected.size());
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(file.tensors.count(name)) << name;
    EXPECT_EQ(file.tensors.at(name).shape, shape) << name;
    EXPECT_EQ(file.tensors.at(name).dtype, "F32");
  }
  EXPECT_EQ(file.tensors.at("rnn.bias_hh_l0").to_doubles(), std::vector<double>(4, 0.0));
  EXPECT_EQ(file.metadata.at("loss"), "mse");
  EXPECT_EQ(file.metadata.at("hidden_size"), "4");
  EXPECT_EQ(file.metadata.at("dtype"), "float32");
}

TEST(ModelFile, WriteThenReadGivesTheSameParameters) {
  const auto folder = std::filesystem::temp_directory_path() / "recur_model_file_test";
  std::filesystem::create_directories(folder);
  const std::string path = (folder / "m.safetensors").string();
  const auto net = random_network<double>({2, 5, 3}, 2);
  write_model(path, net, {{"note", "x"}});
  const ModelFile model = read_model(path);
  EXPECT_EQ(model.dtype, "float64");
  EXPECT_EQ(model.metadata.at("note"), "x");
  Network<double> back({2, 5, 3});
  load_parameters(model, back);
  EXPECT_TRUE(
      std::equal(back.parameters().begin(), back.parameters().end(), net.parameters().begin()));
  std::filesystem::remove_all(folder);
}

TEST(ModelFile, PyTorchsTwoBiasesAreSummed) {
  Safetensors file = model_safetensors(random_network<double>({1, 2, 1}, 3), {});
  file.metadata.clear();  // as PyTorch writes it: no recur metadata
  file.tensors["rnn.bias_ih_l0"] = StoredTensor::from_doubles(std::vector<double>{1.0, 2.0}, {2});
  file.tensors["rnn.bias_hh_l0"] = StoredTensor::from_doubles(std::vector<double>{0.5, -4.0}, {2});
  const ModelFile model = parse_model(file, "torch.safetensors");
  EXPECT_EQ(model.tensors.at("rnn.bias_l0"), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(model.config.hidden_size, 2);
}

TEST(ModelFile, RefusesFilesThatDisagreeWithThemselves) {
  const Safetensors good = model_safetensors(random_network<float>({2, 3, 1}, 4), {});
  EXPECT_EQ(error_of(good), "no error");

  Safetensors missing = good;
  missing.tensors.erase("readout.bias");
  EXPECT_NE(error_of(missing).find("missing tensor \"readout.bias\""), std::string::npos);

  Safetensors shape = good;
  shape.tensors["rnn.weight_hh_l0"] = StoredTensor::from_floats(std::vector<float>(6), {3, 2});
  EXPECT_NE(error_of(shape).find("\"rnn.weight_hh_l0\" has shape [3, 2], expected [3, 3]"),
            std::string::npos);

  Safetensors dtype = good;
  dtype.metadata["dtype"] = "float64";
  EXPECT_NE(error_of(dtype).find("metadata dtype is float64 but the tensors are F32"),
            std::string::npos);

  Safetensors mixed = good;
  mixed.tensors["readout.bias"] = StoredTensor::from_doubles(std::vector<double>{0.0}, {1});
  EXPECT_NE(error_of(mixed).find("has dtype F64, the others F32"), std::string::npos);

  Safetensors sizes = good;
  sizes.metadata["input_size"] = "7";
  EXPECT_NE(error_of(sizes).find("metadata input_size is 7 but the tensors' shapes say 2"),
            std::string::npos);

  Safetensors nan = good;
  std::vector<double> with_nan = nan.tensors.at("rnn.weight_ih_l0").to_doubles();
  with_nan[3] = std::nan("");
  nan.tensors["rnn.weight_ih_l0"] =
      StoredTensor::from_floats(std::vector<float>(with_nan.begin(), with_nan.end()), {3, 2});
  EXPECT_NE(error_of(nan).find("\"rnn.weight_ih_l0\" holds nan at index 3"), std::string::npos);

  Safetensors deeper = good;  // half a second layer
  deeper.tensors["rnn.weight_ih_l1"] = StoredTensor::from_floats(std::vector<float>(9), {3, 3});
  EXPECT_NE(error_of(deeper).find("metadata layers is 1 but the tensors' shapes say 2"),
            std::string::npos);
  deeper.metadata.erase("layers");
  EXPECT_NE(error_of(deeper).find("missing tensor \"rnn.bias_ih_l1\""), std::string::npos);

  Safetensors extra = good;
  extra.tensors["rnn.weight_ih_l0_backward"] =
      StoredTensor::from_floats(std::vector<float>(1), {1});
  EXPECT_NE(error_of(extra).find("unexpected tensor \"rnn.weight_ih_l0_backward\" for a 1-layer "
                                 "elman model"),
            std::string::npos);

  Safetensors sigmoid = good;
  sigmoid.metadata["nonlinearity"] = "sigmoid";
  EXPECT_NE(error_of(sigmoid).find("nonlinearity \"sigmoid\" is not supported"), std::string::npos);
  Safetensors relu = good;
  relu.metadata["nonlinearity"] = "relu";
  EXPECT_EQ(parse_model(relu, "relu").config.nonlinearity, Nonlinearity::kRelu);

  Safetensors cell = good;
  cell.metadata["cell"] = "lstm";
  EXPECT_NE(error_of(cell).find("rnn.weight_hh_l0 has shape [3, 3], expected [4 * 3, 3] for a "
                                "lstm cell"),
            std::string::npos);
  cell.metadata["cell"] = "transformer";
  EXPECT_NE(error_of(cell).find("cell \"transformer\" is not supported"), std::string::npos);

  Safetensors dropout = good;
  dropout.metadata["dropout"] = "1.5";
  EXPECT_NE(error_of(dropout).find("metadata dropout is \"1.5\", expected a number in [0, 1)"),
            std::string::npos);
}

TEST(ModelFile, EveryCellStackedAndBidirectionalRoundTrips) {
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    const NetworkConfig config{3, 4, 2, Nonlinearity::kTanh, cell, 2, true, 0.25};
    const auto net = random_network<double>(config, 5);
    Safetensors file = model_safetensors(net, {});
    const int G = gate_count(cell) * 4;
    EXPECT_EQ(file.tensors.at("rnn.weight_ih_l1_reverse").shape, (std::vector<std::int64_t>{G, 8}));
    EXPECT_EQ(file.tensors.at("rnn.bias_hh_l1_reverse").shape, (std::vector<std::int64_t>{G}));
    EXPECT_EQ(file.tensors.at("readout.weight").shape, (std::vector<std::int64_t>{2, 8}));
    const ModelFile with_metadata = parse_model(file, "m");
    EXPECT_EQ(with_metadata.config.dropout, 0.25);
    file.metadata.clear();  // as PyTorch writes it: the configuration from names and shapes
    const ModelFile model = parse_model(file, "torch");
    EXPECT_EQ(model.config.cell, cell);
    EXPECT_EQ(model.config.layers, 2);
    EXPECT_TRUE(model.config.bidirectional);
    EXPECT_EQ(model.config.input_size, 3);
    Network<double> back(model.config);
    load_parameters(model, back);
    EXPECT_TRUE(
        std::equal(back.parameters().begin(), back.parameters().end(), net.parameters().begin()))
        << cell_name(cell);
  }
}

}  // namespace
}  // namespace recur
