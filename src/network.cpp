#include "recur/network.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

#include "cells/elman.hpp"
#include "gemm.hpp"
#include "recur/error.hpp"

namespace recur {

namespace {

std::vector<TensorInfo> layout(const NetworkConfig& c) {
  const int I = c.input_size, H = c.hidden_size, O = c.output_size;
  std::vector<TensorInfo> tensors = {
      {"rnn.weight_ih_l0", {H, I}, 0, 0}, {"rnn.weight_hh_l0", {H, H}, 0, 0},
      {"rnn.bias_l0", {H}, 0, 0},         {"readout.weight", {O, H}, 0, 0},
      {"readout.bias", {O}, 0, 0},
  };
  std::size_t offset = 0;
  for (TensorInfo& t : tensors) {
    t.size = 1;
    for (int d : t.shape) t.size *= static_cast<std::size_t>(d);
    t.offset = offset;
    offset += t.size;
  }
  return tensors;
}

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

template <typename T>
Network<T>::Network(const NetworkConfig& config) : config_(config) {
  check_size("input_size", config.input_size);
  check_size("hidden_size", config.hidden_size);
  check_size("output_size", config.output_size);
  tensors_ = layout(config);
  for (const TensorInfo& t : tensors_) {
    if (t.size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw Error("network: " + t.name + " would hold " + std::to_string(t.size) +
                  " values, more than 2147483647; use smaller sizes");
    }
  }
  const TensorInfo& last = tensors_.back();
  params_.assign(last.offset + last.size, T(0));
  grads_.assign(params_.size(), T(0));
  ws_.weight_hh_t.resize(static_cast<std::size_t>(config.hidden_size) * config.hidden_size);
}

template <typename T>
typename Network<T>::Views Network<T>::views(std::vector<T>& buffer) const {
  T* base = buffer.data();
  return {base + tensors_[0].offset, base + tensors_[1].offset, base + tensors_[2].offset,
          base + tensors_[3].offset, base + tensors_[4].offset};
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
  const TensorInfo& t = tensor(name);
  return std::span<T>(params_).subspan(t.offset, t.size);
}

template <typename T>
std::span<T> Network<T>::gradient(std::string_view name) {
  const TensorInfo& t = tensor(name);
  return std::span<T>(grads_).subspan(t.offset, t.size);
}

template <typename T>
double Network<T>::memory_bytes(const NetworkConfig& config, int seq_len, int batch_size) {
  const double steps = static_cast<double>(seq_len) * batch_size;
  const double I = config.input_size, H = config.hidden_size, O = config.output_size;
  const double params = H * I + H * H + H + O * H + O;
  // x, y, dy, dh, da over all steps; hs over steps + 1; dh_next; W_hh transposed.
  const double workspace = steps * (I + 2 * O + 2 * H) + (steps + 2 * batch_size) * H + H * H;
  return (2 * params + workspace) * sizeof(T);
}

template <typename T>
const T* Network<T>::transpose_weight_hh() {
  const int H = config_.hidden_size;
  const T* weight_hh = views(params_).weight_hh;
  T* weight_hh_t = ws_.weight_hh_t.data();
  for (int j = 0; j < H; ++j) {
    for (int k = 0; k < H; ++k) weight_hh_t[k * H + j] = weight_hh[j * H + k];
  }
  return weight_hh_t;
}

template <typename T>
void Network<T>::reserve(int seq_len, int batch_size) {
  const std::size_t steps = static_cast<std::size_t>(seq_len) * batch_size;
  const std::size_t rows = batch_size;
  const std::size_t I = config_.input_size, H = config_.hidden_size, O = config_.output_size;
  if (ws_.x.size() < steps * I) ws_.x.resize(steps * I);
  if (ws_.hs.size() < steps * H + rows * H) ws_.hs.resize(steps * H + rows * H);
  if (ws_.y.size() < steps * O) ws_.y.resize(steps * O);
  if (ws_.dy.size() < steps * O) ws_.dy.resize(steps * O);
  if (ws_.dh.size() < steps * H) ws_.dh.resize(steps * H);
  if (ws_.da.size() < steps * H) ws_.da.resize(steps * H);
  if (ws_.dh_next.size() < rows * H) ws_.dh_next.resize(rows * H);
}

template <typename T>
std::span<const T> Network<T>::forward(std::span<const T> x, int seq_len, int batch_size,
                                       std::span<const int> lengths, std::span<const T> h0) {
  if (seq_len <= 0 || batch_size <= 0) {
    throw Error("forward: seq_len and batch_size must be positive, got " + std::to_string(seq_len) +
                " and " + std::to_string(batch_size));
  }
  const int I = config_.input_size, H = config_.hidden_size, O = config_.output_size;
  const long long widest = std::max({I, H, O});
  if ((static_cast<long long>(seq_len) + 1) * batch_size * widest >
      std::numeric_limits<int>::max()) {
    throw Error("forward: " + std::to_string(seq_len) + " steps of " + std::to_string(batch_size) +
                " sequences need more than 2147483647 values per buffer; use shorter batches");
  }
  const int rows = seq_len * batch_size;  // every (t, b) pair
  if (x.size() != static_cast<std::size_t>(rows) * I) {
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
  if (!h0.empty() && h0.size() != static_cast<std::size_t>(batch_size) * H) {
    throw Error("forward: h0 has " + std::to_string(h0.size()) + " values, expected [" +
                std::to_string(batch_size) + ", " + std::to_string(H) + "]");
  }
  reserve(seq_len, batch_size);
  seq_len_ = seq_len;
  batch_size_ = batch_size;
  ws_.lengths.assign(batch_size, seq_len);  // grows once, then reuses its capacity
  std::copy(lengths.begin(), lengths.end(), ws_.lengths.begin());
  const Views param = views(params_);
  const T* weight_ih = param.weight_ih;
  const T* bias = param.bias;
  const T* weight_o = param.weight_o;
  const T* bias_o = param.bias_o;
  const T* weight_hh_t = transpose_weight_hh();

  std::copy(x.begin(), x.end(), ws_.x.begin());
  T* xw = ws_.da.data();  // the input projection borrows da's space until backward
  gemm(Trans::kNo, Trans::kYes, rows, H, I, T(1), ws_.x.data(), I, weight_ih, I, T(0), xw, H);

  const int step = batch_size * H;
  T* hs = ws_.hs.data();
  if (h0.empty()) {
    std::fill(hs, hs + step, T(0));
  } else {
    std::copy(h0.begin(), h0.end(), hs);
  }
  for (int t = 0; t < seq_len; ++t) {
    elman_forward_step(config_.nonlinearity, batch_size, H, xw + t * step, hs + t * step,
                       weight_hh_t, bias, hs + (t + 1) * step);
  }

  T* y = ws_.y.data();
  gemm(Trans::kNo, Trans::kYes, rows, O, H, T(1), hs + step, H, weight_o, H, T(0), y, O);
  for (int t = 0; t < seq_len; ++t) {
    for (int b = 0; b < batch_size; ++b) {
      T* y_row = y + (t * batch_size + b) * O;
      if (t < ws_.lengths[b]) {
        for (int o = 0; o < O; ++o) y_row[o] += bias_o[o];
      } else {
        std::fill(y_row, y_row + O, T(0));
      }
    }
  }
  return std::span<const T>(ws_.y).first(static_cast<std::size_t>(rows) * O);
}

template <typename T>
void Network<T>::backward(std::span<const T> dy) {
  const int I = config_.input_size, H = config_.hidden_size, O = config_.output_size;
  const int rows = seq_len_ * batch_size_;
  if (rows == 0) throw Error("backward: called before forward");
  if (dy.size() != static_cast<std::size_t>(rows) * O) {
    throw Error("backward: dy has " + std::to_string(dy.size()) + " values, expected [" +
                std::to_string(seq_len_) + ", " + std::to_string(batch_size_) + ", " +
                std::to_string(O) + "]");
  }
  const Views param = views(params_);
  const Views grad = views(grads_);
  const T* weight_hh = param.weight_hh;
  const T* weight_o = param.weight_o;
  T* dweight_ih = grad.weight_ih;
  T* dweight_hh = grad.weight_hh;
  T* dbias = grad.bias;
  T* dweight_o = grad.weight_o;
  T* dbias_o = grad.bias_o;
  std::fill(grads_.begin(), grads_.end(), T(0));

  // dy with padded steps zeroed: then nothing flows from them, and since padding comes after
  // every real step, nothing flows into them either.
  T* dy_masked = ws_.dy.data();
  for (int t = 0; t < seq_len_; ++t) {
    for (int b = 0; b < batch_size_; ++b) {
      const std::size_t at = static_cast<std::size_t>(t * batch_size_ + b) * O;
      if (t < ws_.lengths[b]) {
        std::copy(dy.begin() + at, dy.begin() + at + O, dy_masked + at);
      } else {
        std::fill(dy_masked + at, dy_masked + at + O, T(0));
      }
    }
  }

  const int step = batch_size_ * H;
  const T* hs = ws_.hs.data();
  T* dh = ws_.dh.data();
  T* da = ws_.da.data();
  T* dh_next = ws_.dh_next.data();

  // Readout, for all steps at once.
  gemm(Trans::kYes, Trans::kNo, O, H, rows, T(1), dy_masked, O, hs + step, H, T(0), dweight_o, H);
  add_column_sums(rows, O, dy_masked, dbias_o);
  gemm(Trans::kNo, Trans::kNo, rows, H, O, T(1), dy_masked, O, weight_o, H, T(0), dh, H);

  // Backpropagation through time.
  std::fill(dh_next, dh_next + step, T(0));
  for (int t = seq_len_ - 1; t >= 0; --t) {
    elman_backward_step(config_.nonlinearity, batch_size_, H, hs + (t + 1) * step, dh + t * step,
                        weight_hh, da + t * step, dh_next);
  }

  // Weight gradients, for all steps at once.
  gemm(Trans::kYes, Trans::kNo, H, I, rows, T(1), da, H, ws_.x.data(), I, T(0), dweight_ih, I);
  gemm(Trans::kYes, Trans::kNo, H, H, rows, T(1), da, H, hs, H, T(0), dweight_hh, H);
  add_column_sums(rows, H, da, dbias);
}

template <typename T>
void Network<T>::step(std::span<const T> x_t, std::span<T> state, std::span<T> y_t,
                      int batch_size) {
  const int I = config_.input_size, H = config_.hidden_size, O = config_.output_size;
  const auto rows = static_cast<std::size_t>(batch_size);
  if (batch_size <= 0 || x_t.size() != rows * I || state.size() != rows * H ||
      y_t.size() != rows * O) {
    throw Error("step: expected x_t [" + std::to_string(batch_size) + ", " + std::to_string(I) +
                "], state [" + std::to_string(batch_size) + ", " + std::to_string(H) +
                "] and y_t [" + std::to_string(batch_size) + ", " + std::to_string(O) + "], got " +
                std::to_string(x_t.size()) + ", " + std::to_string(state.size()) + " and " +
                std::to_string(y_t.size()) + " values");
  }
  if (ws_.step_xw.size() < rows * H) ws_.step_xw.resize(rows * H);
  if (ws_.step_h.size() < rows * H) ws_.step_h.resize(rows * H);
  const Views param = views(params_);
  const T* weight_hh_t = transpose_weight_hh();
  T* xw = ws_.step_xw.data();
  T* h = ws_.step_h.data();
  gemm(Trans::kNo, Trans::kYes, batch_size, H, I, T(1), x_t.data(), I, param.weight_ih, I, T(0), xw,
       H);
  elman_forward_step(config_.nonlinearity, batch_size, H, xw, state.data(), weight_hh_t, param.bias,
                     h);
  std::copy(h, h + rows * H, state.begin());
  gemm(Trans::kNo, Trans::kYes, batch_size, O, H, T(1), h, H, param.weight_o, H, T(0), y_t.data(),
       O);
  for (std::size_t r = 0; r < rows; ++r) {
    for (int o = 0; o < O; ++o) y_t[r * O + o] += param.bias_o[o];
  }
}

template <typename T>
void Network<T>::final_state(std::span<T> out) const {
  const int H = config_.hidden_size;
  if (seq_len_ == 0) throw Error("final_state: called before forward");
  if (out.size() != static_cast<std::size_t>(batch_size_) * H) {
    throw Error("final_state: out has " + std::to_string(out.size()) + " values, expected [" +
                std::to_string(batch_size_) + ", " + std::to_string(H) + "]");
  }
  for (int b = 0; b < batch_size_; ++b) {
    const T* h = ws_.hs.data() + (static_cast<std::size_t>(ws_.lengths[b]) * batch_size_ + b) * H;
    std::copy(h, h + H, out.begin() + static_cast<std::size_t>(b) * H);
  }
}

template <typename T>
std::span<const T> Network<T>::hidden() const {
  const std::size_t step = static_cast<std::size_t>(batch_size_) * config_.hidden_size;
  return std::span<const T>(ws_.hs).subspan(step, step * seq_len_);
}

template class Network<float>;
template class Network<double>;
template class Network<long double>;  // for finite differences in gradcheck

}  // namespace recur
