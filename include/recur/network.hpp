// Network: one Elman recurrent layer and a linear readout at every time step.
//
//   h(t) = f(W_ih x(t) + W_hh h(t-1) + b),   h(-1) = h0 or 0,   f = tanh or relu
//   y(t) = W_o h(t) + c
//
// Tensors are time-major and row-major: a batch of sequences is [T, B, F], and the slice for
// one time step is a contiguous B x F matrix. Weights keep PyTorch's orientation and names.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recur {

// The Elman cell's nonlinearity, as nn.RNN(nonlinearity=...).
enum class Nonlinearity { kTanh, kRelu };

// "tanh" or "relu"; throws Error otherwise.
Nonlinearity parse_nonlinearity(const std::string& name);
const char* nonlinearity_name(Nonlinearity nonlinearity);

struct NetworkConfig {
  int input_size = 1;
  int hidden_size = 8;
  int output_size = 1;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
};

// One named tensor of a network: a view of `size` elements at `offset` in the flat parameter
// buffer, and at the same offset in the flat gradient buffer.
struct TensorInfo {
  std::string name;
  std::vector<int> shape;  // row-major
  std::size_t offset = 0;
  std::size_t size = 0;
};

template <typename T>
class Network {
 public:
  // Throws recur::Error if a size is not positive. Parameters start at zero.
  explicit Network(const NetworkConfig& config);

  const NetworkConfig& config() const { return config_; }

  // The tensors, in file order: rnn.weight_ih_l0 (H, I), rnn.weight_hh_l0 (H, H),
  // rnn.bias_l0 (H), readout.weight (O, H), readout.bias (O).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo& tensor(std::string_view name) const;  // throws Error if unknown

  // Every parameter and every gradient, each in one flat buffer with the same layout.
  std::span<T> parameters() { return params_; }
  std::span<const T> parameters() const { return params_; }
  std::span<T> gradients() { return grads_; }
  std::span<const T> gradients() const { return grads_; }
  std::span<T> parameter(std::string_view name);
  std::span<T> gradient(std::string_view name);

  // Bytes a network of this configuration needs for its parameters, gradients and the
  // workspace of one forward and backward of [seq_len, batch_size], computed without
  // allocating, so that callers can refuse sizes that cannot fit before trying.
  static double memory_bytes(const NetworkConfig& config, int seq_len, int batch_size);

  // Runs x [seq_len, batch, input_size] from a zero hidden state. Returns y
  // [seq_len, batch, output_size], a view valid until the next forward. Keeps what backward
  // needs in a workspace that grows only when a larger (seq_len, batch) arrives.
  //
  // Sequences of different lengths: lengths[b] (0..seq_len) is sequence b's length, and its
  // steps t >= lengths[b] are padding. Padding never reaches a real step (it comes after), its
  // outputs are 0, and backward ignores dy there, so a padded batch gives the same outputs and
  // gradients as its sequences one by one. Empty lengths: every sequence is seq_len long.
  //
  // h0 [batch, hidden_size] is the initial hidden state (empty: zeros); final_state() gives
  // each sequence's state after its last real step, so that one call can carry on where the
  // last stopped. Gradients stop at h0: backward does not reach into an earlier call.
  std::span<const T> forward(std::span<const T> x, int seq_len, int batch_size,
                             std::span<const int> lengths = {}, std::span<const T> h0 = {});

  // One time step for streaming input: x_t [batch, input_size] and state [batch,
  // hidden_size] (h(t-1) in, h(t) out) give y_t [batch, output_size]. Stepping through a
  // sequence gives what forward gives for the whole of it. Nothing is allocated after the
  // first call with the largest batch; each call transposes W_hh (H^2 copies, the size of the
  // step's own work at batch 1). Does not disturb what backward needs from the last forward.
  void step(std::span<const T> x_t, std::span<T> state, std::span<T> y_t, int batch_size);

  // [batch, hidden_size] of the last forward: h after each sequence's last real step (h0, or
  // zeros, for a sequence of length 0). Throws Error if out has another size.
  void final_state(std::span<T> out) const;

  // Backpropagation through time for the last forward: dy is dLoss/dy, [seq_len, batch,
  // output_size]. Overwrites gradients() with dLoss/dparameters.
  void backward(std::span<const T> dy);

  // Hidden states of the last forward, [seq_len, batch, hidden_size].
  std::span<const T> hidden() const;

 private:
  // The tensors as pointers into a flat buffer (params_ or grads_), taken afresh by each
  // forward and backward so that copies of a Network stay valid.
  struct Views {
    T* weight_ih;  // (H, I)
    T* weight_hh;  // (H, H)
    T* bias;       // (H)
    T* weight_o;   // (O, H)
    T* bias_o;     // (O)
  };
  Views views(std::vector<T>& buffer) const;

  struct Workspace {
    std::vector<T> weight_hh_t;  // (H, H) W_hh transposed, for the forward time loop
    std::vector<T> x;            // (T, B, I) copy of the input
    std::vector<T> hs;           // (T + 1, B, H) hidden states; hs[0] is the initial state
    std::vector<T> y;            // (T, B, O)
    std::vector<T> dy;           // (T, B, O) dLoss/dy with padded steps zeroed
    std::vector<int> lengths;    // (B) of the last forward
    std::vector<T> dh;           // (T, B, H) dLoss/dh(t) from the readout
    std::vector<T> da;           // (T, B, H) dLoss/d(pre-activation); x-projection in forward
    std::vector<T> dh_next;      // (B, H) dLoss/dh(t-1) carried back through time
    std::vector<T> step_xw;      // (B, H) step(): the input projection
    std::vector<T> step_h;       // (B, H) step(): the new state
  };
  void reserve(int seq_len, int batch_size);
  // W_hh transposed into the workspace, so that the forward step streams its rows.
  const T* transpose_weight_hh();

  NetworkConfig config_;
  std::vector<TensorInfo> tensors_;
  std::vector<T> params_;
  std::vector<T> grads_;
  Workspace ws_;
  int seq_len_ = 0;  // of the last forward
  int batch_size_ = 0;
};

extern template class Network<float>;
extern template class Network<double>;
extern template class Network<long double>;

}  // namespace recur
