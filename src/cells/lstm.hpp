// The LSTM cell, forward and backward step side by side (shapes in cell.hpp). Gates in
// PyTorch's order i, f, g, o, each H wide; a = xw + h_prev W_hh^T + b:
//
//   forward:   i = s(a_i)  f = s(a_f)  g = tanh(a_g)  o = s(a_o)       s = sigmoid
//              c = f c_prev + i g          h = o tanh(c)
//              cache: i, f, g, o, tanh(c)  (5H per row)
//   backward:  dc_t = dc + dh o (1 - tanh(c)^2)
//              da_i = dc_t g i (1 - i)     da_f = dc_t c_prev f (1 - f)
//              da_g = dc_t i (1 - g^2)     da_o = dh tanh(c) o (1 - o)
//              dc_prev = dc_t f            dh_prev: none but padding's (all through W_hh)
#pragma once

#include <algorithm>

#include "activations.hpp"
#include "cells/cell.hpp"
#include "gemm.hpp"

namespace recur {

constexpr int kLstmCacheGates = 5;

template <typename T>
inline void lstm_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden, G = 4 * H;
  // xw is spent: a = xw + h_prev W_hh^T, or x W_ih^T + h_prev W_hh^T with the input fused
  recurrent_product(w, s.batch, 4, s.h_prev, T(1), s.xw, s.x, s.ldx);
  for (int b = 0; b < s.batch; ++b) {
    const T* c_prev = s.c_prev + b * H;
    T* h = s.h + b * H;
    T* c = s.c + b * H;
    if (s.active != nullptr && !s.active[b]) {
      std::copy(s.h_prev + b * H, s.h_prev + (b + 1) * H, h);
      std::copy(c_prev, c_prev + H, c);
      continue;
    }
    // One simple loop per gate, each of which the compiler vectorizes (one loop doing all
    // five was left scalar).
    const T* a = s.xw + b * G;
    T* cache = s.cache + b * kLstmCacheGates * H;
    T *i = cache, *f = cache + H, *g = cache + 2 * H, *o = cache + 3 * H, *tanh_c = cache + 4 * H;
    for (int j = 0; j < H; ++j) i[j] = sigmoid_of(a[j] + w.bias[j]);
    for (int j = 0; j < H; ++j) f[j] = sigmoid_of(a[H + j] + w.bias[H + j]);
    for (int j = 0; j < H; ++j) g[j] = tanh_of(a[2 * H + j] + w.bias[2 * H + j]);
    for (int j = 0; j < H; ++j) o[j] = sigmoid_of(a[3 * H + j] + w.bias[3 * H + j]);
    for (int j = 0; j < H; ++j) c[j] = f[j] * c_prev[j] + i[j] * g[j];
    for (int j = 0; j < H; ++j) tanh_c[j] = tanh_of(c[j]);
    for (int j = 0; j < H; ++j) h[j] = o[j] * tanh_c[j];
  }
}

template <typename T>
inline bool lstm_backward(const CellWeights<T>& w, const BackwardStep<T>& s) {
  const int H = w.hidden, G = 4 * H;
  for (int b = 0; b < s.batch; ++b) {
    T* da = s.dxw + b * G;
    const T* dh_out = s.dh_out + b * s.ld;
    T* dh_next = s.dh_next + b * H;
    if (s.active != nullptr && !s.active[b]) {  // padding: dh and dc pass through untouched
      std::fill(da, da + G, T(0));
      for (int j = 0; j < H; ++j) dh_next[j] += dh_out[j];
      continue;
    }
    const T* cache = s.cache + b * kLstmCacheGates * H;
    const T* c_prev = s.c_prev + b * H;
    T* dc = s.dc + b * H;
    const T *i = cache, *f = cache + H, *g = cache + 2 * H, *o = cache + 3 * H;
    const T* tanh_c = cache + 4 * H;
    // One simple loop per quantity, each of which the compiler vectorizes; dc becomes dc_t.
    for (int j = 0; j < H; ++j) {
      dc[j] += (dh_out[j] + dh_next[j]) * o[j] * (T(1) - tanh_c[j] * tanh_c[j]);
    }
    for (int j = 0; j < H; ++j) {
      da[3 * H + j] = (dh_out[j] + dh_next[j]) * tanh_c[j] * o[j] * (T(1) - o[j]);
    }
    for (int j = 0; j < H; ++j) da[j] = dc[j] * g[j] * i[j] * (T(1) - i[j]);
    for (int j = 0; j < H; ++j) da[H + j] = dc[j] * c_prev[j] * f[j] * (T(1) - f[j]);
    for (int j = 0; j < H; ++j) da[2 * H + j] = dc[j] * i[j] * (T(1) - g[j] * g[j]);
    for (int j = 0; j < H; ++j) dc[j] *= f[j];
    if (s.active != nullptr) std::fill(dh_next, dh_next + H, T(0));
  }
  return s.active != nullptr;  // only padding has a direct term
}

}  // namespace recur
