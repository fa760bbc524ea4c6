// parity_tool CASE OUT: runs one parity case for tests/python/test_pytorch_parity.py.
//
// CASE is a safetensors file holding a model (PyTorch's names, F32 or F64), "x" [T, B, I],
// "target" [T, B, O], "lengths" [B] and optionally "state0" (the initial state, PyTorch's h0
// followed for an LSTM by c0), with metadata "loss" (sse | mse), "lr" and "steps".
// OUT receives, all as F64: "y" (the first forward), "state" (its final state), "loss" [1],
// "grad.<name>" for each of recur's tensors, and "after.<name>" once `steps` optimizer steps have
// been taken (metadata "optimizer", "lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2",
// "alpha", "eps" and "clip", as torch.optim and clip_grad_norm_ name them).
#include <cstdio>
#include <string>
#include <vector>

#include "recur/error.hpp"
#include "recur/loss.hpp"
#include "recur/model_file.hpp"
#include "recur/optim.hpp"

namespace {

template <typename T>
recur::Safetensors run(const recur::Safetensors& input, const recur::ModelFile& model) {
  recur::Network<T> net(model.config);
  recur::load_parameters(model, net);
  const auto as = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  const recur::StoredTensor& x_stored = input.tensors.at("x");
  const int T_len = static_cast<int>(x_stored.shape.at(0));
  const int B = static_cast<int>(x_stored.shape.at(1));
  const std::vector<T> x = as(x_stored.to_doubles());
  const std::vector<T> target = as(input.tensors.at("target").to_doubles());
  std::vector<int> lengths;
  for (double v : input.tensors.at("lengths").to_doubles()) lengths.push_back(static_cast<int>(v));
  std::vector<T> state0;
  if (input.tensors.count("state0")) state0 = as(input.tensors.at("state0").to_doubles());
  const recur::LossKind kind = recur::parse_loss(input.metadata.at("loss"));
  std::vector<int> first;  // "target": "last" counts only each sequence's last step
  if (input.metadata.count("target") && input.metadata.at("target") == "last") {
    for (int len : lengths) first.push_back(len - 1);
  }
  // Optimizer settings from the metadata, torch.optim's names and defaults.
  const auto& md = input.metadata;
  const auto number = [&](const char* key, double fallback) {
    return md.count(key) ? std::stod(md.at(key)) : fallback;
  };
  recur::OptimizerSettings optim;
  optim.kind = recur::parse_optimizer(md.count("optimizer") ? md.at("optimizer") : "sgd");
  optim.learning_rate = number("lr", 0.01);
  optim.weight_decay = number("weight_decay", 0.0);
  optim.momentum = number("momentum", 0.0);
  optim.nesterov = md.count("nesterov") && md.at("nesterov") == "True";
  optim.beta1 = number("beta1", 0.9);
  optim.beta2 = number("beta2", 0.999);
  optim.alpha = number("alpha", 0.99);
  optim.eps = number("eps", 1e-8);
  const double clip = number("clip", 0.0);
  recur::Optimizer<T> optimizer(optim, net.parameters().size());
  const int steps = std::stoi(input.metadata.at("steps"));

  recur::Safetensors out;
  std::vector<T> dy(target.size());
  const std::vector<std::int64_t> y_shape = {T_len, B, model.config.output_size};
  for (int step = 0; step < steps; ++step) {
    const auto y = net.forward(x, T_len, B, lengths, state0);
    const double loss = recur::masked_loss<T>(kind, y, target, dy, T_len, B, lengths, first);
    net.backward(dy);
    if (step == 0) {
      out.tensors["y"] =
          recur::StoredTensor::from_doubles(std::vector<double>(y.begin(), y.end()), y_shape);
      std::vector<T> state(net.state_size(B));
      net.final_state(state);
      out.tensors["state"] =
          recur::StoredTensor::from_doubles(std::vector<double>(state.begin(), state.end()),
                                            {static_cast<std::int64_t>(state.size())});
      out.tensors["loss"] = recur::StoredTensor::from_doubles(std::vector<double>{loss}, {1});
      for (const recur::TensorInfo& info : net.tensors()) {
        const auto g = net.gradient(info.name);
        out.tensors["grad." + info.name] = recur::StoredTensor::from_doubles(
            std::vector<double>(g.begin(), g.end()), {static_cast<std::int64_t>(g.size())});
      }
    }
    if (clip > 0) recur::clip_grad_norm(net.gradients(), clip);
    optimizer.step(net.parameters(), net.gradients());
  }
  for (const recur::TensorInfo& info : net.tensors()) {
    const auto p = net.parameter(info.name);
    out.tensors["after." + info.name] = recur::StoredTensor::from_doubles(
        std::vector<double>(p.begin(), p.end()), {static_cast<std::int64_t>(p.size())});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: parity_tool CASE OUT\n");
    return 2;
  }
  try {
    const recur::Safetensors input = recur::read_safetensors(argv[1]);
    recur::Safetensors model_only = input;  // the case's data is not part of the model
    for (const char* data : {"x", "target", "lengths", "state0"}) model_only.tensors.erase(data);
    const recur::ModelFile model = recur::parse_model(model_only, argv[1]);
    const recur::Safetensors out =
        model.dtype == "float32" ? run<float>(input, model) : run<double>(input, model);
    recur::write_safetensors(argv[2], out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parity_tool: %s\n", e.what());
    return 1;
  }
  return 0;
}
