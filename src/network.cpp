#include "recur/network.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "gemm.hpp"
#include "layer.hpp"
#include "network_workspace.hpp"
#include "packed_gemm.hpp"
#include "recur/error.hpp"
#include "small_elman.hpp"
#include "thread_pool.hpp"

namespace recur {

std::vector<TensorInfo> network_tensors(const NetworkConfig& c) {
  const int H = c.hidden_size, D = c.directions(), G = gate_count(c.cell) * H;
  std::vector<TensorInfo> tensors;
  for (int l = 0; l < c.layers; ++l) {
    for (int d = 0; d < D; ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      const int in = l == 0 ? c.input_size : D * H;
      tensors.push_back({"rnn.weight_ih" + suffix, {G, in}, 0, 0});
      tensors.push_back({"rnn.weight_hh" + suffix, {G, H}, 0, 0});
      if (c.cell == CellKind::kGru) {
        tensors.push_back({"rnn.bias_ih" + suffix, {G}, 0, 0});
        tensors.push_back({"rnn.bias_hh" + suffix, {G}, 0, 0});
      } else {
        tensors.push_back({"rnn.bias" + suffix, {G}, 0, 0});
      }
    }
  }
  tensors.push_back({"readout.weight", {c.output_size, D * H}, 0, 0});
  tensors.push_back({"readout.bias", {c.output_size}, 0, 0});
  std::size_t offset = 0;
  for (TensorInfo& t : tensors) {
    t.size = 1;
    for (int d : t.shape) t.size *= static_cast<std::size_t>(d);
    t.offset = offset;
    offset += t.size;
  }
  return tensors;
}

namespace {

void check_size(const char* what, int value) {
  if (value <= 0) {
    throw Error(std::string("network: ") + what + " must be a positive integer, got " +
                std::to_string(value));
  }
}

}  // namespace

Nonlinearity parse_nonlinearity(const std::string& name) {
  if (name == "tanh") return Nonlinearity::kTanh;
  if (name == "relu") return Nonlinearity::kRelu;
  throw Error("nonlinearity: expected tanh or relu, got '" + name + "'");
}

const char* nonlinearity_name(Nonlinearity nonlinearity) {
  return nonlinearity == Nonlinearity::kTanh ? "tanh" : "relu";
}

CellKind parse_cell(const std::string& name) {
  if (name == "elman") return CellKind::kElman;
  if (name == "lstm") return CellKind::kLstm;
  if (name == "gru") return CellKind::kGru;
  throw Error("cell: expected elman, lstm or gru, got '" + name + "'");
}

const char* cell_name(CellKind cell) {
  switch (cell) {
    case CellKind::kLstm:
      return "lstm";
    case CellKind::kGru:
      return "gru";
    case CellKind::kElman:
      break;
  }
  return "elman";
}

int gate_count(CellKind cell) {
  switch (cell) {
    case CellKind::kLstm:
      return 4;
    case CellKind::kGru:
      return 3;
    case CellKind::kElman:
      break;
  }
  return 1;
}

template <typename T>
Network<T>::Network(const NetworkConfig& config)
    : config_(config), ws_(std::make_unique<Workspace<T>>()) {
  check_size("input_size", config.input_size);
  check_size("hidden_size", config.hidden_size);
  check_size("output_size", config.output_size);
  check_size("layers", config.layers);
  if (!(config.dropout >= 0.0 && config.dropout < 1.0)) {
    throw Error("network: dropout must be in [0, 1), got " + std::to_string(config.dropout));
  }
  if (config.hidden_size > std::numeric_limits<int>::max() / 8 || config.layers > 1'000'000) {
    throw Error("network: hidden_size " + std::to_string(config.hidden_size) + " or layers " +
                std::to_string(config.layers) + " is too large");
  }
  tensors_ = network_tensors(config);
  for (const TensorInfo& t : tensors_) {
    if (t.size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw Error("network: " + t.name + " would hold " + std::to_string(t.size) +
                  " values, more than 2147483647; use smaller sizes");
    }
  }
  const TensorInfo& last = tensors_.back();
  params_.assign(last.offset + last.size, T(0));
  grads_.assign(params_.size(), T(0));
  const int H = config.hidden_size, G = gate_count(config.cell) * H;
  ws_->layers.resize(static_cast<std::size_t>(config.layers) * config.directions());
  for (LayerBuffers<T>& buf : ws_->layers) buf.weight_hh_t.resize(static_cast<std::size_t>(G) * H);
  ws_->inputs.resize(config.layers);
  ws_->masks.resize(config.layers);
}

template <typename T>
Network<T>::~Network() = default;

template <typename T>
Network<T>::Network(const Network& other)
    : config_(other.config_),
      tensors_(other.tensors_),
      params_(other.params_),
      grads_(other.grads_),
      ws_(std::make_unique<Workspace<T>>(*other.ws_)),
      dropout_random_(other.dropout_random_),
      training_(other.training_),
      seq_len_(other.seq_len_),
      backward_ready_(other.backward_ready_),
      batch_size_(other.batch_size_) {}

template <typename T>
Network<T>& Network<T>::operator=(const Network& other) {
  if (this != &other) {
    Network copy(other);
    std::swap(config_, copy.config_);
    std::swap(tensors_, copy.tensors_);
    std::swap(params_, copy.params_);
    std::swap(grads_, copy.grads_);
    std::swap(ws_, copy.ws_);
    std::swap(dropout_random_, copy.dropout_random_);
    training_ = copy.training_;
    step_ready_ = false;  // the copied workspace may hold weights prepared for other values
    seq_len_ = copy.seq_len_;
    backward_ready_ = copy.backward_ready_;
    batch_size_ = copy.batch_size_;
  }
  return *this;
}

template <typename T>
void Network<T>::set_dropout_seed(std::uint32_t seed) {
  dropout_random_.seed(seed);
}

template <typename T>
const TensorInfo& Network<T>::tensor(std::string_view name) const {
  for (const TensorInfo& t : tensors_) {
    if (t.name == name) return t;
  }
  throw Error("network: no tensor named '" + std::string(name) + "'");
}

template <typename T>
std::span<T> Network<T>::parameter(std::string_view name) {
  step_ready_ = false;
  const TensorInfo& t = tensor(name);
  return std::span<T>(params_).subspan(t.offset, t.size);
}

template <typename T>
std::span<T> Network<T>::gradient(std::string_view name) {
  const TensorInfo& t = tensor(name);
  return std::span<T>(grads_).subspan(t.offset, t.size);
}

template <typename T>
std::size_t Network<T>::state_size(int batch_size) const {
  return static_cast<std::size_t>(config_.state_parts()) * batch_size * config_.hidden_size;
}

template <typename T>
double Network<T>::memory_bytes(const NetworkConfig& c, int seq_len, int batch_size) {
  const double steps = static_cast<double>(seq_len) * batch_size;
  const double I = c.input_size, H = c.hidden_size, O = c.output_size, D = c.directions();
  const double L = c.layers, G = gate_count(c.cell) * H;
  const double params = L * D * (G * (I + D * H + H + 2)) + O * (D * H + 1);
  const double cache = cache_width(c.cell, c.hidden_size);
  // xw (dLoss/dxw after backward), and GRU's n part of dLoss/dhw
  const double per_layer = steps * (G + (c.cell == CellKind::kGru ? H : 0) + cache) +
                           (steps + batch_size) * H * (c.cell == CellKind::kLstm ? 2 : 1) + G * H;
  // x, y, dy; inputs and masks between layers; the top's outputs and two gradients of them.
  const double rest = steps * (I + 2 * O + 2 * (L - 1) * D * H + 3 * D * H);
  return (2 * params + L * D * per_layer + rest) * sizeof(T);
}

template <typename T>
void Network<T>::reserve(int seq_len, int batch_size) {
  const std::size_t steps = static_cast<std::size_t>(seq_len) * batch_size;
  const std::size_t I = config_.input_size, H = config_.hidden_size, O = config_.output_size;
  const std::size_t DH = config_.directions() * H;
  for (LayerBuffers<T>& buf : ws_->layers) {
    buf.reserve(config_.cell, config_.hidden_size, seq_len, batch_size);
  }
  ws_->scratch.reserve(config_.cell, config_.hidden_size, batch_size);
  grow(ws_->x, steps * I);
  for (int l = 1; l < config_.layers; ++l) grow(ws_->inputs[l], steps * DH);
  if (config_.directions() == 2) grow(ws_->top, steps * DH);
  grow(ws_->y, steps * O);
  // dLoss/d(a layer's output) over all steps, where backward's steps do not take it into
  // their products (as Network::backward decides; dropout in the config counts, whether or
  // not the forward applies it): 26 MB each at the large sizes, never touched otherwise.
  const bool outer = backward_takes_outer<T>(config_.cell, config_.hidden_size, batch_size);
  const bool below = outer && config_.directions() == 1 && config_.dropout == 0;
  const bool stacked = config_.layers > 1 && !below;
  if (!outer || stacked) grow(ws_->grad_out, steps * DH);
  if (stacked) grow(ws_->grad_in, steps * DH);
}

template <typename T>
void Network<T>::check_forward_args(std::span<const T> x, int seq_len, int batch_size,
                                    std::span<const int> lengths, std::span<const T> state0) const {
  if (seq_len <= 0 || batch_size <= 0) {
    throw Error("forward: seq_len and batch_size must be positive, got " + std::to_string(seq_len) +
                " and " + std::to_string(batch_size));
  }
  const int I = config_.input_size, H = config_.hidden_size;
  if ((static_cast<long long>(seq_len) + 1) * batch_size * widest_row(config_) >
      std::numeric_limits<int>::max()) {
    throw Error("forward: " + std::to_string(seq_len) + " steps of " + std::to_string(batch_size) +
                " sequences need more than 2147483647 values per buffer; use shorter batches");
  }
  if (x.size() != static_cast<std::size_t>(seq_len) * batch_size * I) {
    throw Error("forward: x has " + std::to_string(x.size()) + " values, expected [" +
                std::to_string(seq_len) + ", " + std::to_string(batch_size) + ", " +
                std::to_string(I) + "]");
  }
  if (!lengths.empty() && lengths.size() != static_cast<std::size_t>(batch_size)) {
    throw Error("forward: " + std::to_string(lengths.size()) + " lengths for a batch of " +
                std::to_string(batch_size));
  }
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 0 || lengths[b] > seq_len) {
      throw Error("forward: lengths[" + std::to_string(b) + "] is " + std::to_string(lengths[b]) +
                  ", expected 0 to " + std::to_string(seq_len));
    }
  }
  if (!state0.empty() && state0.size() != state_size(batch_size)) {
    throw Error("forward: the initial state has " + std::to_string(state0.size()) +
                " values, expected [" + std::to_string(config_.state_parts()) + ", " +
                std::to_string(batch_size) + ", " + std::to_string(H) + "]");
  }
}

namespace {

// Layer-direction k's outputs h(t), copied into columns [d H, (d + 1) H) of out (T, B, D*H).
template <typename T>
void gather_outputs(const LayerBuffers<T>& buf, bool reverse, int d, int D, int seq_len, int B,
                    int H, T* out) {
  const std::size_t step = static_cast<std::size_t>(B) * H;
  for (int t = 0; t < seq_len; ++t) {
    const T* h = buf.hs.data() + state_index(reverse, t) * step;
    for (int b = 0; b < B; ++b) {
      std::copy(h + b * H, h + (b + 1) * H,
                out + (static_cast<std::size_t>(t) * B + b) * D * H + d * H);
    }
  }
}

// The network as small_elman.hpp sees it (only when small_elman_fits).
template <typename T>
SmallElman<T> small_elman_view(const NetworkConfig& c, const std::vector<TensorInfo>& tensors,
                               std::span<const T> params, Workspace<T>& ws, int seq_len,
                               int batch) {
  const T* p = params.data();
  return {c.input_size,
          c.hidden_size,
          c.output_size,
          c.nonlinearity,
          p + tensors[0].offset,
          p + tensors[1].offset,
          p + tensors[2].offset,
          p + tensors[3].offset,
          p + tensors[4].offset,
          seq_len,
          batch,
          ws.padded ? ws.lengths.data() : nullptr,
          ws.x.data(),
          ws.layers[0].hs.data(),
          ws.y.data()};
}

}  // namespace

namespace {

// Passes of fewer multiply-adds than this (a forward pass of about half a millisecond) run
// on one thread or as the threads are otherwise used, whichever their LoopTuner has timed
// faster (InlineParts): the time loops' tuners choose loop by loop, but a small pass also
// splits products, whose hand-offs cost each a round trip between the cores. On a Zen 5 host
// whose vCPUs are 470 ns apart (session 21), an empty job of two parts took 0.93-1.04 us, and
// the small Elman step ran 0.185 ms at --threads 1 against 0.237-0.25 ms on two threads.
// Above, the tuner's phases on one thread would cost more than they could find. Below
// kPassTunedLeast (a pass of a few microseconds) no product splits (packed_gemm.cpp's
// parts_for) and the tuner's two clock reads would be the cost: they made the seed's run,
// 400 passes of under a microsecond, 1.2x as long (121 us against 100 at --threads 1).
constexpr long kPassTunedWork = 1L << 26, kPassTunedLeast = 1L << 19;

// Runs pass() under `tuner` where the pass is of a size to gain from it, else as it is.
template <typename F>
void run_pass(LoopTuner& tuner, long work, F&& pass) {
  if (work < kPassTunedLeast || work >= kPassTunedWork) return pass();
  tuner.run(work, free_threads(), [&](int parts) {
    const InlineParts inline_parts(parts <= 1);
    pass();
  });
}

}  // namespace

template <typename T>
long Network<T>::pass_work(long rows) const {
  const long I = config_.input_size, H = config_.hidden_size, O = config_.output_size;
  const long D = config_.directions(), G = gate_count(config_.cell) * H;
  long work = D * H * O;
  for (int l = 0; l < config_.layers; ++l) work += D * ((l == 0 ? I : D * H) + H) * G;
  return work * rows;
}

template <typename T>
std::span<const T> Network<T>::forward(std::span<const T> x, int seq_len, int batch_size,
                                       std::span<const int> lengths, std::span<const T> state0) {
  check_forward_args(x, seq_len, batch_size, lengths, state0);  // before pass_work's product
  std::span<const T> out;
  run_pass(ws_->forward_tuner, pass_work(static_cast<long>(seq_len) * batch_size),
           [&] { out = forward_pass(x, seq_len, batch_size, lengths, state0); });
  return out;
}

template <typename T>
std::span<const T> Network<T>::forward_pass(std::span<const T> x, int seq_len, int batch_size,
                                            std::span<const int> lengths,
                                            std::span<const T> state0) {
  reserve(seq_len, batch_size);
  step_ready_ = false;  // forward prepares the recurrent weights for its own batch
  Workspace<T>& ws = *ws_;
  seq_len_ = seq_len;
  batch_size_ = batch_size;
  backward_ready_ = true;
  ws.lengths.assign(batch_size, seq_len);  // grows once, then reuses its capacity
  std::copy(lengths.begin(), lengths.end(), ws.lengths.begin());
  ws.padded = std::any_of(ws.lengths.begin(), ws.lengths.end(), [&](int n) { return n < seq_len; });
  const int H = config_.hidden_size, O = config_.output_size, D = config_.directions();
  const int L = config_.layers, G = gate_count(config_.cell) * H, B = batch_size;
  const int rows = seq_len * B;  // every (t, b) pair
  const std::size_t step = static_cast<std::size_t>(B) * H;
  const bool lstm = config_.cell == CellKind::kLstm;
  ws.dropped = training_ && config_.dropout > 0 && L > 1;
  std::copy(x.begin(), x.end(), ws.x.begin());
  const auto outputs = std::span<const T>(ws.y).first(static_cast<std::size_t>(rows) * O);
  // Every layer-direction's initial state (h, and c for an LSTM): state0's, or zeros.
  for (int k = 0; k < L * D; ++k) {
    LayerBuffers<T>& buf = ws.layers[k];
    const std::size_t init = (k % D ? seq_len : 0) * step;
    for (int part = 0; part < (lstm ? 2 : 1); ++part) {
      T* s = (part ? buf.cs.data() : buf.hs.data()) + init;
      if (state0.empty()) {
        std::fill(s, s + step, T(0));
      } else {
        const T* from = state0.data() + (static_cast<std::size_t>(part) * L * D + k) * step;
        std::copy(from, from + step, s);
      }
    }
  }

  if constexpr (elman_rows_fit<T>(1)) {  // never compiled for long double
    if (small_elman_fits<T>(config_)) {
      small_elman_forward(small_elman_view<T>(config_, tensors_, params_, ws, seq_len, B));
      return outputs;
    }
  }
  for (int l = 0; l < L; ++l) {
    const T* in = l == 0 ? ws.x.data() : ws.inputs[l].data();
    for (int d = 0; d < D; ++d) {
      const int k = l * D + d;
      LayerBuffers<T>& buf = ws.layers[k];
      const LayerViews<T> p = layer_views<T>(tensors_, config_.cell, k, params_);
      // The input's product in each step's (fused), or for all steps at once first.
      const bool pack = use_packed<T>(B, H, G);
      const PackedMatrix<T>* fused =
          prepare_fused_weights(config_.cell, p.input, H, pack, p.weight_ih, p.weight_hh, buf);
      const PackedMatrix<T>* packed =
          fused != nullptr
              ? fused
              : prepare_forward_weights(gate_count(config_.cell), H, pack, p.weight_hh, buf);
      if (fused == nullptr) {
        gemm(Trans::kNo, Trans::kYes, rows, G, p.input, T(1), in, p.input, p.weight_ih, p.input,
             T(0), buf.xw.data(), G);
      }
      CellWeights<T> w = cell_weights<T>(config_, p, buf, packed, nullptr);
      w.fused_input = fused != nullptr ? p.input : 0;
      const LayerShape shape{config_.cell, d == 1, seq_len, B,
                             ws.padded ? ws.lengths.data() : nullptr};
      layer_forward(shape, w, buf, ws.scratch, fused != nullptr ? in : nullptr);
    }
    if (l + 1 < L) {
      T* next = ws.inputs[l + 1].data();
      for (int d = 0; d < D; ++d) {
        gather_outputs(ws.layers[l * D + d], d == 1, d, D, seq_len, B, H, next);
      }
      if (ws.dropped) {
        const std::size_t n = static_cast<std::size_t>(rows) * D * H;
        grow(ws.masks[l + 1], n);
        T* mask = ws.masks[l + 1].data();
        const T keep = T(1) / static_cast<T>(1.0 - config_.dropout);
        for (std::size_t i = 0; i < n; ++i) {
          mask[i] = dropout_random_.random_sample() < config_.dropout ? T(0) : keep;
          next[i] *= mask[i];
        }
      }
    }
  }
  const T* top = ws.layers[(L - 1) * D].hs.data() + step;
  if (D == 2) {
    for (int d = 0; d < D; ++d) {
      gather_outputs(ws.layers[(L - 1) * D + d], d == 1, d, D, seq_len, B, H, ws.top.data());
    }
    top = ws.top.data();
  }

  const TensorInfo& wo = tensors_[tensors_.size() - 2];
  const T* weight_o = params_.data() + wo.offset;
  const T* bias_o = params_.data() + tensors_.back().offset;
  T* y = ws.y.data();
  gemm(Trans::kNo, Trans::kYes, rows, O, D * H, T(1), top, D * H, weight_o, D * H, T(0), y, O);
  for (int t = 0; t < seq_len; ++t) {
    for (int b = 0; b < B; ++b) {
      T* y_row = y + (static_cast<std::size_t>(t) * B + b) * O;
      if (t < ws.lengths[b]) {
        for (int o = 0; o < O; ++o) y_row[o] += bias_o[o];
      } else {
        std::fill(y_row, y_row + O, T(0));
      }
    }
  }
  return outputs;
}

template <typename T>
void Network<T>::backward(std::span<const T> dy) {
  run_pass(ws_->backward_tuner, pass_work(static_cast<long>(seq_len_) * batch_size_),
           [&] { backward_pass(dy); });
}

template <typename T>
void Network<T>::backward_pass(std::span<const T> dy) {
  const int H = config_.hidden_size, O = config_.output_size, D = config_.directions();
  const int L = config_.layers, G = gate_count(config_.cell) * H, B = batch_size_;
  const int rows = seq_len_ * B;
  if (rows == 0) throw Error("backward: called before forward");
  if (!backward_ready_) {
    throw Error(
        "backward: called twice after one forward; its values are spent (run forward "
        "again)");
  }
  if (dy.size() != static_cast<std::size_t>(rows) * O) {
    throw Error("backward: dy has " + std::to_string(dy.size()) + " values, expected [" +
                std::to_string(seq_len_) + ", " + std::to_string(B) + ", " + std::to_string(O) +
                "]");
  }
  backward_ready_ = false;
  Workspace<T>& ws = *ws_;
  if constexpr (elman_rows_fit<T>(1)) {
    if (small_elman_fits<T>(config_)) {
      T* g = grads_.data();
      small_elman_backward(small_elman_view<T>(config_, tensors_, params_, ws, seq_len_, B),
                           dy.data(), g + tensors_[0].offset, g + tensors_[1].offset,
                           g + tensors_[2].offset, g + tensors_[3].offset, g + tensors_[4].offset);
      return;
    }
  }
  std::fill(grads_.begin(), grads_.end(), T(0));
  const std::size_t step = static_cast<std::size_t>(B) * H;

  // dy with padded steps zeroed: then nothing flows from them (dy itself, without padding).
  const T* dy_masked = dy.data();
  if (ws.padded) {
    grow(ws.dy, static_cast<std::size_t>(rows) * O);
    T* masked = ws.dy.data();
    for (int t = 0; t < seq_len_; ++t) {
      for (int b = 0; b < B; ++b) {
        const std::size_t at = (static_cast<std::size_t>(t) * B + b) * O;
        if (t < ws.lengths[b]) {
          std::copy(dy.begin() + at, dy.begin() + at + O, masked + at);
        } else {
          std::fill(masked + at, masked + at + O, T(0));
        }
      }
    }
    dy_masked = masked;
  }

  // Readout, for all steps at once.
  const T* top = D == 2 ? ws.top.data() : ws.layers[(L - 1) * D].hs.data() + step;
  const TensorInfo& wo = tensors_[tensors_.size() - 2];
  gemm(Trans::kYes, Trans::kNo, O, D * H, rows, T(1), dy_masked, O, top, D * H, T(0),
       grads_.data() + wo.offset, D * H);
  add_column_sums(rows, O, dy_masked, O, grads_.data() + tensors_.back().offset);
  // dLoss/dh from outside each layer: the readout's dy W_o for the top, the layer above's dxw
  // W_ih below it, taken into the backward steps' products where they are packed
  // (OuterGradient, layer.hpp), or else a product over all steps into grad_out. Below the
  // top only for one direction (two would need two blocks more in each step's product) and
  // without dropout (whose mask applies to the outer part alone).
  const bool outer_fused = backward_takes_outer<T>(config_.cell, H, B);
  const bool below_fused = outer_fused && D == 1 && !ws.dropped;
  if (!outer_fused) {
    gemm(Trans::kNo, Trans::kNo, rows, D * H, O, T(1), dy_masked, O, params_.data() + wo.offset,
         D * H, T(0), ws.grad_out.data(), D * H);
  }

  for (int l = L - 1; l >= 0; --l) {
    const T* in = l == 0 ? ws.x.data() : ws.inputs[l].data();
    for (int d = 0; d < D; ++d) {
      const int k = l * D + d;
      LayerBuffers<T>& buf = ws.layers[k];
      const LayerViews<T> p = layer_views<T>(tensors_, config_.cell, k, params_);
      const LayerViews<T> g = layer_views<T>(tensors_, config_.cell, k, grads_);
      OuterGradient<T> outer;
      if (l == L - 1 && outer_fused) {
        outer = {dy_masked, O, O, params_.data() + wo.offset + static_cast<std::size_t>(d) * H,
                 D * H};
      } else if (l < L - 1 && below_fused) {
        outer = {ws.layers[k + 1].xw.data(), G, G,
                 layer_views<T>(tensors_, config_.cell, k + 1, params_).weight_ih, H};
      }
      const PackedMatrix<T>* packed =
          prepare_backward_weights(config_.cell, H, B, p.weight_hh, buf, outer);
      const CellWeights<T> w = cell_weights<T>(config_, p, buf, nullptr, packed);
      const LayerShape shape{config_.cell, d == 1, seq_len_, B,
                             ws.padded ? ws.lengths.data() : nullptr};
      const T* dh_out = outer.a != nullptr ? nullptr : ws.grad_out.data() + d * H;
      layer_backward(shape, w, dh_out, D * H, buf, ws.scratch, outer);
      // Weight gradients, for all steps at once.
      const T* dxw = buf.xw.data();
      const T* h_prev = buf.hs.data() + (d ? step : 0);
      // dW_ih = dxw^T x and dW_hh = dhw^T h_prev, with one dG (Elman, LSTM: dhw is dxw) or,
      // for GRU, dhw's r and z rows dxw's and its n rows buf.dhw ([rows, H]); the rows that
      // share dxw share its copies, and the bias gradient's sums over them are taken there.
      const bool gru = config_.cell == CellKind::kGru;
      const int shared = gru ? 2 * H : G;
      const ProductShares gradient_rows(&buf.gradient_shares);  // the pair's cut (packed_gemm.hpp)
      gemm_tn_pair(shared, rows, dxw, G, p.input, in, p.input, g.weight_ih, p.input, H, h_prev, H,
                   g.weight_hh, H, g.bias);
      if (gru) add_column_sums(rows, H, dxw + shared, G, g.bias + shared);
      if (gru) {
        const std::size_t n_rows = static_cast<std::size_t>(shared);
        gemm(Trans::kYes, Trans::kNo, H, p.input, rows, T(1), dxw + shared, G, in, p.input, T(0),
             g.weight_ih + n_rows * p.input, p.input);
        gemm(Trans::kYes, Trans::kNo, H, H, rows, T(1), buf.dhw.data(), H, h_prev, H, T(0),
             g.weight_hh + n_rows * H, H);
        // b_hh's r and z sums are b_ih's (the same columns of dxw, summed in the same order
        // into gradients zeroed above); its n part is buf.dhw's.
        std::copy(g.bias, g.bias + shared, g.bias_hh);
        add_column_sums(rows, H, buf.dhw.data(), H, g.bias_hh + shared);
      }
    }
    if (l == 0 || below_fused) continue;
    // dLoss/d(layer l's input) = sum over directions of dxw W_ih: layer l-1's output gradient.
    const int in_width = D * H;
    for (int d = 0; d < D; ++d) {
      const LayerViews<T> p = layer_views<T>(tensors_, config_.cell, l * D + d, params_);
      gemm(Trans::kNo, Trans::kNo, rows, in_width, G, T(1), ws.layers[l * D + d].xw.data(), G,
           p.weight_ih, in_width, T(d ? 1 : 0), ws.grad_in.data(), in_width);
    }
    if (ws.dropped) {
      const T* mask = ws.masks[l].data();
      const std::size_t n = static_cast<std::size_t>(rows) * in_width;
      for (std::size_t i = 0; i < n; ++i) ws.grad_in[i] *= mask[i];
    }
    std::swap(ws.grad_out, ws.grad_in);
  }
}

template <typename T>
void Network<T>::final_state(std::span<T> out) const {
  if (seq_len_ == 0) throw Error("final_state: called before forward");
  if (out.size() != state_size(batch_size_)) {
    throw Error("final_state: out has " + std::to_string(out.size()) + " values, expected " +
                std::to_string(state_size(batch_size_)));
  }
  const int D = config_.directions(), L = config_.layers;
  const std::size_t step = static_cast<std::size_t>(batch_size_) * config_.hidden_size;
  const bool lstm = config_.cell == CellKind::kLstm;
  for (int k = 0; k < L * D; ++k) {
    const LayerBuffers<T>& buf = ws_->layers[k];
    const std::size_t at = (k % D ? 0 : seq_len_) * step;  // padding carried the state here
    std::copy(buf.hs.begin() + at, buf.hs.begin() + at + step, out.begin() + k * step);
    if (lstm) {
      std::copy(buf.cs.begin() + at, buf.cs.begin() + at + step, out.begin() + (L * D + k) * step);
    }
  }
}

template <typename T>
std::span<const T> Network<T>::hidden() const {
  const std::size_t values =
      static_cast<std::size_t>(seq_len_) * batch_size_ * config_.directions() * config_.hidden_size;
  if (config_.directions() == 2) return std::span<const T>(ws_->top).first(values);
  const std::size_t step = static_cast<std::size_t>(batch_size_) * config_.hidden_size;
  return std::span<const T>(ws_->layers[config_.layers - 1].hs).subspan(step, values);
}

template class Network<float>;
template class Network<double>;
template class Network<long double>;  // for finite differences in gradcheck

}  // namespace recur
