// Network: a stack of recurrent layers (Elman, LSTM or GRU cells, one or two directions) and a
// linear readout at every time step.
//
//   layer 0 reads x(t); layer k reads layer k-1's output (both directions concatenated, with
//   dropout between layers in training); y(t) = W_o h_top(t) + c
//
// Tensors are time-major and row-major: a batch of sequences is [T, B, F], and the slice for
// one time step is a contiguous B x F matrix. Weights keep PyTorch's orientation, gate order
// and names (nn.RNN / nn.LSTM / nn.GRU), so that a model moves between the two as a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "recur/cache_aligned.hpp"
#include "recur/random.hpp"

namespace recur {

// The Elman cell's nonlinearity, as nn.RNN(nonlinearity=...).
enum class Nonlinearity { kTanh, kRelu };

// "tanh" or "relu"; throws Error otherwise.
Nonlinearity parse_nonlinearity(const std::string& name);
const char* nonlinearity_name(Nonlinearity nonlinearity);

// The recurrent cell, with PyTorch's gate order:
//   elman  h = f(W_ih x + W_hh h' + b)
//   lstm   gates i, f, g, o: c = f c' + i g, h = o tanh(c)
//   gru    gates r, z, n:    n = tanh(W_in x + b_in + r (W_hn h' + b_hn)), h = (1 - z) n + z h'
enum class CellKind { kElman, kLstm, kGru };

// "elman", "lstm" or "gru"; throws Error otherwise.
CellKind parse_cell(const std::string& name);
const char* cell_name(CellKind cell);
// Gates per cell: 1, 4 or 3. Weight matrices stack them: weight_ih is [gates * H, I].
int gate_count(CellKind cell);

struct NetworkConfig {
  int input_size = 1;
  int hidden_size = 8;
  int output_size = 1;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;  // Elman only
  CellKind cell = CellKind::kElman;
  int layers = 1;
  bool bidirectional = false;
  double dropout = 0.0;  // on the inputs of layers 1.., in training only (as nn.LSTM's)

  int directions() const { return bidirectional ? 2 : 1; }
  // Matrices [layers * directions, batch, H] in the recurrent state: h, and c for an LSTM.
  int state_parts() const { return (cell == CellKind::kLstm ? 2 : 1) * layers * directions(); }
};

// One named tensor of a network: a view of `size` elements at `offset` in the flat parameter
// buffer, and at the same offset in the flat gradient buffer.
struct TensorInfo {
  std::string name;
  std::vector<int> shape;  // row-major
  std::size_t offset = 0;
  std::size_t size = 0;
};

// The tensors of a network of this configuration (see Network::tensors), computed without
// allocating any of them.
std::vector<TensorInfo> network_tensors(const NetworkConfig& config);

template <typename T>
struct Workspace;  // the buffers of one forward and backward (src/network_workspace.hpp)

template <typename T>
class Network {
 public:
  // Throws recur::Error if a size is not positive or dropout is not in [0, 1). Parameters
  // start at zero.
  explicit Network(const NetworkConfig& config);
  ~Network();
  Network(const Network& other);
  Network& operator=(const Network& other);

  const NetworkConfig& config() const { return config_; }

  // The tensors, in PyTorch's state_dict order: for each layer k and direction (suffix "" or
  // "_reverse"): rnn.weight_ih_l{k} (G*H, I or D*H), rnn.weight_hh_l{k} (G*H, H), then the
  // biases: rnn.bias_l{k} (G*H) for Elman and LSTM, whose two PyTorch biases are only ever
  // summed, or rnn.bias_ih_l{k} and rnn.bias_hh_l{k} (3H each) for GRU, whose b_hn sits
  // inside r (W_hn h + b_hn). Then readout.weight (O, D*H) and readout.bias (O).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo& tensor(std::string_view name) const;  // throws Error if unknown

  // Every parameter and every gradient, each in one flat buffer with the same layout.
  // Writable views of the parameters. Asking for one marks the weights step() has prepared
  // (transposed or packed) as stale; write through a view before the next step(), not after.
  std::span<T> parameters() {
    step_ready_ = false;
    return params_;
  }
  std::span<const T> parameters() const { return params_; }
  std::span<T> gradients() { return grads_; }
  std::span<const T> gradients() const { return grads_; }
  std::span<T> parameter(std::string_view name);
  std::span<T> gradient(std::string_view name);

  // Values in the recurrent state of a batch: state_parts() matrices [B, H], laid out as
  // PyTorch's h_n [layers * directions, B, H], followed for an LSTM by c_n in the same shape.
  std::size_t state_size(int batch_size) const;

  // Bytes a network of this configuration needs for its parameters, gradients and the
  // workspace of one forward and backward of [seq_len, batch_size], computed without
  // allocating, so that callers can refuse sizes that cannot fit before trying. The values
  // alone: each buffer of 256 KB or more also rounds up to whole 2 MB pages (cache_aligned.hpp),
  // up to 2 MB more a buffer.
  static double memory_bytes(const NetworkConfig& config, int seq_len, int batch_size);

  // Training mode applies dropout between layers (if the config asks for it); evaluation
  // mode (the default) does not. Each training forward draws a new mask from a stream
  // seeded by set_dropout_seed (default 0) and advanced by each forward.
  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  void set_dropout_seed(std::uint32_t seed);

  // Runs x [seq_len, batch, input_size]. Returns y [seq_len, batch, output_size], a view valid
  // until the next forward. Keeps what backward needs in a workspace that grows only when a
  // larger (seq_len, batch) arrives.
  //
  // Sequences of different lengths: lengths[b] (0..seq_len) is sequence b's length, and its
  // steps t >= lengths[b] are padding: their outputs are 0, backward ignores dy there, and the
  // reverse direction starts at each sequence's own last step, as PyTorch's packed sequences
  // do. A padded batch gives the same outputs and gradients as its sequences one by one.
  // Empty lengths: every sequence is seq_len long.
  //
  // state0 (state_size(batch) values; empty: zeros) is the initial state; final_state() gives
  // each sequence's state after its last real step, so that one call can carry on where the
  // last stopped. Gradients stop at state0: backward does not reach into an earlier call.
  std::span<const T> forward(std::span<const T> x, int seq_len, int batch_size,
                             std::span<const int> lengths = {}, std::span<const T> state0 = {});

  // One time step for streaming input: x_t [batch, input_size] and state (state_size(batch)
  // values; in: the state after t-1, out: after t) give y_t [batch, output_size]. Stepping
  // through a sequence gives what forward gives for the whole of it (in evaluation mode).
  // Nothing is allocated after the first call with the largest batch. The recurrent weights
  // are prepared (transposed or packed) once and reused until parameters() or parameter() is
  // asked for again, or a forward or another batch size comes. Does not disturb what
  // backward needs from the last forward. Throws Error for a bidirectional network, whose
  // reverse direction needs the whole sequence.
  void step(std::span<const T> x_t, std::span<T> state, std::span<T> y_t, int batch_size);

  // The state after the last forward (state_size(batch) values): for each sequence, the
  // forward direction's state after its last real step and the reverse direction's after
  // step 0, as PyTorch's h_n (and c_n). Throws Error if out has another size.
  void final_state(std::span<T> out) const;

  // Backpropagation through time for the last forward: dy is dLoss/dy, [seq_len, batch,
  // output_size]. Overwrites gradients() with dLoss/dparameters. Once a forward, as in
  // PyTorch: it spends what the forward kept (the gates, where it leaves their gradients),
  // and a second call throws Error.
  void backward(std::span<const T> dy);

  // The top layer's outputs of the last forward, [seq_len, batch, directions * hidden_size]
  // (padded steps unspecified).
  std::span<const T> hidden() const;

 private:
  void reserve(int seq_len, int batch_size);
  void check_forward_args(std::span<const T> x, int seq_len, int batch_size,
                          std::span<const int> lengths, std::span<const T> state0) const;
  // forward's work (forward has checked its arguments) and backward's, each run by
  // forward or backward under its LoopTuner.
  std::span<const T> forward_pass(std::span<const T> x, int seq_len, int batch_size,
                                  std::span<const int> lengths, std::span<const T> state0);
  void backward_pass(std::span<const T> dy);
  // Multiply-adds of one forward pass over `rows` (t, b) pairs: the passes' tuners' key.
  long pass_work(long rows) const;
  // step()'s layers and readout, its arguments checked and its buffers grown.
  void run_step(bool prepare, std::span<const T> x_t, std::span<T> state, std::span<T> y_t,
                int batch_size);

  NetworkConfig config_;
  std::vector<TensorInfo> tensors_;
  // On 2 MB pages where large (cache_aligned.hpp): the weight gradients over all steps write
  // their rows of C here, each 4 KB row of W_hh's gradient at H = 1024 a 4 KB page of its own
  // on small pages. There the kernel's early fetch of each call's rows of C came to nothing,
  // and its last loads of C waited on memory: 9% of that kernel's samples in the large LSTM
  // step, 1.4% on 2 MB pages. The pair dG^T [x, h] alone (two threads, a `/tmp` program):
  // 182-186 ms against 198-203; whole steps, `bench/ab.py`: large LSTM 1.026x (6 of 7 rounds),
  // GRU 1.015x (5 of 7).
  AlignedVector<T> params_;
  AlignedVector<T> grads_;
  std::unique_ptr<Workspace<T>> ws_;  // copied with the network
  NumpyRandom dropout_random_;
  bool training_ = false;
  bool step_ready_ = false;      // step()'s prepared weights match params_ ...
  int step_batch_ = 0;           // ... for this batch size
  int seq_len_ = 0;              // of the last forward
  bool backward_ready_ = false;  // the last forward's values not yet spent by a backward
  int batch_size_ = 0;
};

extern template class Network<float>;
extern template class Network<double>;
extern template class Network<long double>;

}  // namespace recur
