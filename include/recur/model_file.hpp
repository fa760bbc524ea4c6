// Model files: a Network's parameters in safetensors under the names of PyTorch's state_dict
// for a module holding `rnn = nn.RNN(...)`, `nn.LSTM(...)` or `nn.GRU(...)` and
// `readout = nn.Linear(...)`, so that a model moves between recur and PyTorch as a file copy:
//
//   rnn.weight_ih_l{k}[_reverse] [G*H, I or D*H]   rnn.weight_hh_l{k}[_reverse] [G*H, H]
//   rnn.bias_ih_l{k}[_reverse] [G*H]               rnn.bias_hh_l{k}[_reverse] [G*H]
//   readout.weight [O, D*H]                        readout.bias [O]
//
// recur's Elman and LSTM cells have one bias per layer (PyTorch's two are only ever summed):
// it is written as bias_ih with bias_hh zero, and a file from PyTorch loads with the two summed.
// GRU keeps both, since b_hn sits inside r * (W_hn h + b_hn). A file without metadata (written
// from PyTorch) is read by its shapes and names alone: the cell from weight_hh's rows per
// hidden unit (1, 4 or 3), the layers and directions from which tensors exist.
// "__metadata__" holds what is needed to rebuild and use the model (format, cell,
// nonlinearity, sizes, layers, bidirectional, dropout, dtype) plus whatever the caller adds
// (loss, column names, normalisation statistics, vocabulary).
#pragma once

#include <map>
#include <string>

#include "recur/network.hpp"
#include "recur/safetensors.hpp"

namespace recur {

constexpr const char* kModelFormat = "recur-1";
// Checkpoints also hold a stateful optimizer's buffers under this prefix (checkpoint.hpp);
// models ignore them.
constexpr const char* kOptimizerPrefix = "optimizer.";

struct ModelFile {
  NetworkConfig config;
  std::string dtype;                            // "float32" or "float64": the tensors' own type
  std::map<std::string, std::string> metadata;  // everything in __metadata__
  std::map<std::string, std::vector<double>> tensors;  // by recur's names, biases summed
};

// Reads and checks a model file: every tensor present with the shape the sizes call for,
// one dtype throughout, and agreement with the metadata where it states sizes or dtype.
// Files without recur's metadata (written from PyTorch) take their sizes from the shapes.
ModelFile read_model(const std::string& path);
ModelFile parse_model(const Safetensors& file, const std::string& source);

// Copies a read model's parameters into network, whose config must match.
template <typename T>
void load_parameters(const ModelFile& model, Network<T>& network);

// Writes network atomically, in its own dtype, with the standard metadata and `extra`.
template <typename T>
void write_model(const std::string& path, const Network<T>& network,
                 const std::map<std::string, std::string>& extra);
template <typename T>
Safetensors model_safetensors(const Network<T>& network,
                              const std::map<std::string, std::string>& extra);

}  // namespace recur
