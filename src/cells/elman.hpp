// The Elman cell, forward and backward step side by side (shapes in cell.hpp):
//
//   forward:   h = f(xw + h_prev W_hh^T + b)       in the seed notebook's order of sums
//   backward:  dxw = f'(a) * dh                     f' = 1 - h^2 (tanh) or [h > 0] (relu)
//              dh_prev: none but padding's            (all of it passes through W_hh)
#pragma once

#include <algorithm>

#include "activations.hpp"
#include "cells/cell.hpp"
#include "gemm.hpp"

namespace recur {

// The step's product, into h: xw + h_prev W_hh^T, or x W_ih^T + h_prev W_hh^T with the input
// fused.
template <typename T>
inline void elman_forward_product(const CellWeights<T>& w, const ForwardStep<T>& s) {
  if (w.fused_input == 0) std::copy(s.xw, s.xw + static_cast<std::size_t>(s.batch) * w.hidden, s.h);
  recurrent_product(w, s.batch, 1, s.h_prev, T(1), s.h, s.x, s.ldx);
}

// The bias and the nonlinearity over h, row by row, after the product.
template <typename T>
inline void elman_forward_gates(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden;
  if (w.nonlinearity == Nonlinearity::kTanh) {
    add_bias_tanh(s.batch, H, w.bias, s.h);
  } else {
    add_bias_relu(s.batch, H, w.bias, s.h);
  }
  if (s.active == nullptr) return;
  for (int b = 0; b < s.batch; ++b) {
    if (!s.active[b]) std::copy(s.h_prev + b * H, s.h_prev + (b + 1) * H, s.h + b * H);
  }
}

template <typename T>
inline void elman_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  elman_forward_product(w, s);
  elman_forward_gates(w, s);
}

template <typename T>
inline bool elman_backward(const CellWeights<T>& w, const BackwardStep<T>& s) {
  const int H = w.hidden;
  const bool tanh = w.nonlinearity == Nonlinearity::kTanh;
  for (int b = 0; b < s.batch; ++b) {
    const T* h = s.h + b * H;
    const T* dh_out = s.dh_out + b * s.ld;
    T* dh_next = s.dh_next + b * H;
    T* da = s.dxw + b * H;
    if (s.active != nullptr && !s.active[b]) {  // padding: dh(t) passes to t-1 as it is
      for (int j = 0; j < H; ++j) {
        dh_next[j] += dh_out[j];
        da[j] = T(0);
      }
      continue;
    }
    if (tanh) {
      for (int j = 0; j < H; ++j) da[j] = (T(1) - h[j] * h[j]) * (dh_out[j] + dh_next[j]);
    } else {
      for (int j = 0; j < H; ++j) da[j] = h[j] > T(0) ? dh_out[j] + dh_next[j] : T(0);
    }
    if (s.active != nullptr) std::fill(dh_next, dh_next + H, T(0));
  }
  return s.active != nullptr;  // only padding has a direct term
}

}  // namespace recur
