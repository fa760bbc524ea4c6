// The LSTM cell, forward and backward step side by side (shapes in cell.hpp). Gates in
// PyTorch's order i, f, g, o, each H wide; a = xw + h_prev W_hh^T + b:
//
//   forward:   i = s(a_i)  f = s(a_f)  g = tanh(a_g)  o = s(a_o)       s = sigmoid
//              c = f c_prev + i g          h = o tanh(c)
//              i, f, g, o in xw's row, in place of a; cache: tanh(c)  (H per row)
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

// Values cached a hidden unit beside the gates (which stay in xw): tanh(c).
constexpr int kLstmCachePerUnit = 1;

// The step's product: xw is spent, a = xw + h_prev W_hh^T, or x W_ih^T + h_prev W_hh^T with
// the input fused.
template <typename T>
inline void lstm_forward_product(const CellWeights<T>& w, const ForwardStep<T>& s) {
  recurrent_product(w, s.batch, 4, s.h_prev, T(1), s.xw, s.x, s.ldx);
}

// The step's gates and states, row by row, after its product.
template <typename T>
inline void lstm_forward_gates(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden, G = 4 * H;
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
    // five was left scalar). The gates overwrite a, their row of xw: backward reads them
    // there and leaves da in their place (4H a row fewer to write and read back than a cache
    // of them apart: 26 MB at the medium workload's size).
    T* gates = s.xw + b * G;
    T *i = gates, *f = gates + H, *g = gates + 2 * H, *o = gates + 3 * H;
    T* tanh_c = s.cache + b * kLstmCachePerUnit * H;
    for (int j = 0; j < H; ++j) i[j] = sigmoid_of(i[j] + w.bias[j]);
    for (int j = 0; j < H; ++j) f[j] = sigmoid_of(f[j] + w.bias[H + j]);
    for (int j = 0; j < H; ++j) g[j] = tanh_of(g[j] + w.bias[2 * H + j]);
    for (int j = 0; j < H; ++j) o[j] = sigmoid_of(o[j] + w.bias[3 * H + j]);
    for (int j = 0; j < H; ++j) c[j] = f[j] * c_prev[j] + i[j] * g[j];
    for (int j = 0; j < H; ++j) tanh_c[j] = tanh_of(c[j]);
    for (int j = 0; j < H; ++j) h[j] = o[j] * tanh_c[j];
  }
}

template <typename T>
inline void lstm_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  lstm_forward_product(w, s);
  lstm_forward_gates(w, s);
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
    const T* tanh_c = s.cache + b * kLstmCachePerUnit * H;
    const T* c_prev = s.c_prev + b * H;
    T* dc = s.dc + b * H;
    // The gates i, f, g, o as forward left them in da's place, each read before its da is
    // written over it: one loop for each set of values read together, each vectorized
    // (independent iterations: a gate's slot is read and written at the same j only); dc becomes
    // dc_t.
    T *i = da, *f = da + H, *g = da + 2 * H, *o = da + 3 * H;
    RECUR_INDEPENDENT_ITERATIONS
    for (int j = 0; j < H; ++j) {
      const T dh = dh_out[j] + dh_next[j], o_j = o[j], tanh_cj = tanh_c[j];
      dc[j] += dh * o_j * (T(1) - tanh_cj * tanh_cj);
      o[j] = dh * tanh_cj * o_j * (T(1) - o_j);
    }
    RECUR_INDEPENDENT_ITERATIONS
    for (int j = 0; j < H; ++j) {
      const T i_j = i[j], g_j = g[j];
      i[j] = dc[j] * g_j * i_j * (T(1) - i_j);
      g[j] = dc[j] * i_j * (T(1) - g_j * g_j);
    }
    RECUR_INDEPENDENT_ITERATIONS
    for (int j = 0; j < H; ++j) {
      const T f_j = f[j];
      f[j] = dc[j] * c_prev[j] * f_j * (T(1) - f_j);
      dc[j] *= f_j;
    }
    if (s.active != nullptr) std::fill(dh_next, dh_next + H, T(0));
  }
  return s.active != nullptr;  // only padding has a direct term
}

}  // namespace recur
