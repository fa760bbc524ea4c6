// The GRU cell, forward and backward step side by side (shapes in cell.hpp). Gates in
// PyTorch's order r, z, n, each H wide; hw = h_prev W_hh^T + b_hh, xb = xw + b_ih:
//
//   forward:   r = s(xb_r + hw_r)    z = s(xb_z + hw_z)    n = tanh(xb_n + r hw_n)
//              h = (1 - z) n + z h_prev
//              r, z, n in xw's row (in place of the input's product, read first where
//              it is there); cache: hw_n  (H per row)
//   backward:  dn = dh (1 - z) (1 - n^2)      dz = dh (h_prev - n) z (1 - z)
//              dr = dn hw_n r (1 - r)
//              dxw = (dr, dz, dn)     dhw = (dr, dz, dn r)     dh_prev = dh z
//              (dhw's r and z parts are dxw's: only its n part, dn r, is stored apart;
//              dxw over r, z, n: each read before its gradient is written in its place)
#pragma once

#include <algorithm>

#include "activations.hpp"
#include "cells/cell.hpp"
#include "gemm.hpp"

namespace recur {

// Values cached a hidden unit beside the gates (which stay in xw): hw_n.
constexpr int kGruCachePerUnit = 1;

// With the input fused (cell.hpp), one product per step gives [B, 4H]: x W_ir^T + h W_hr^T,
// x W_iz^T + h W_hz^T, x W_in^T and h W_hn^T, the last two apart (the panels of each sum only
// their own source's rows; packed_gemm.hpp), so that no product for all steps comes first.
template <typename T>
inline void gru_forward_product(const CellWeights<T>& w, const ForwardStep<T>& s) {
  recurrent_product(w, s.batch, 3, s.h_prev, T(0), s.scratch, s.x, s.ldx);
}

// The step's gates and state, row by row, after its product.
template <typename T>
inline void gru_forward_gates(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden, G = 3 * H;
  const bool fused = w.fused_input > 0;
  const int width = fused ? 4 * H : G;  // of a row of the step's product
  for (int b = 0; b < s.batch; ++b) {
    const T* h_prev = s.h_prev + b * H;
    T* h = s.h + b * H;
    if (s.active != nullptr && !s.active[b]) {
      std::copy(h_prev, h_prev + H, h);
      continue;
    }
    // One simple loop per gate, each of which the compiler vectorizes. Fused, the input's
    // products of r and z are in hw's, and n's is hw's third H (xw's in xw_n).
    const T* hw = s.scratch + b * width;
    const T* xw = fused ? nullptr : s.xw + b * G;
    const T* xw_n = fused ? hw + 2 * H : xw + 2 * H;
    const T* hw_nh = fused ? hw + 3 * H : hw + 2 * H;
    const T *b_ih = w.bias, *b_hh = w.bias_hh;
    T* gates = s.xw + b * G;  // r, z, n: unread when fused, else each over its xw part
    T *r = gates, *z = gates + H, *n = gates + 2 * H;
    T* hw_n = s.cache + b * kGruCachePerUnit * H;
    if (fused) {
      for (int j = 0; j < H; ++j) r[j] = sigmoid_of(hw[j] + (b_ih[j] + b_hh[j]));
      for (int j = 0; j < H; ++j) z[j] = sigmoid_of(hw[H + j] + (b_ih[H + j] + b_hh[H + j]));
    } else {  // independent iterations: r and z are written over xw, each value after it is read
      RECUR_INDEPENDENT_ITERATIONS
      for (int j = 0; j < H; ++j) r[j] = sigmoid_of((xw[j] + b_ih[j]) + (hw[j] + b_hh[j]));
      RECUR_INDEPENDENT_ITERATIONS
      for (int j = 0; j < H; ++j) {
        z[j] = sigmoid_of((xw[H + j] + b_ih[H + j]) + (hw[H + j] + b_hh[H + j]));
      }
    }
    for (int j = 0; j < H; ++j) hw_n[j] = hw_nh[j] + b_hh[2 * H + j];
    RECUR_INDEPENDENT_ITERATIONS
    for (int j = 0; j < H; ++j) n[j] = tanh_of(xw_n[j] + b_ih[2 * H + j] + r[j] * hw_n[j]);
    for (int j = 0; j < H; ++j) h[j] = (T(1) - z[j]) * n[j] + z[j] * h_prev[j];
  }
}

template <typename T>
inline void gru_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  gru_forward_product(w, s);
  gru_forward_gates(w, s);
}

template <typename T>
inline bool gru_backward(const CellWeights<T>& w, const BackwardStep<T>& s) {
  const int H = w.hidden, G = 3 * H;
  for (int b = 0; b < s.batch; ++b) {
    T* dxw = s.dxw + b * G;
    T* dhw_n = s.dhw + b * H;
    const T* dh_out = s.dh_out + b * s.ld;
    T* dh_next = s.dh_next + b * H;
    if (s.active != nullptr && !s.active[b]) {  // padding: dh(t) passes to t-1 as it is
      std::fill(dxw, dxw + G, T(0));
      std::fill(dhw_n, dhw_n + H, T(0));
      for (int j = 0; j < H; ++j) dh_next[j] += dh_out[j];
      continue;
    }
    const T* hw_n = s.cache + b * kGruCachePerUnit * H;
    const T* h_prev = s.h_prev + b * H;
    // r, z, n as forward left them in dxw's row, each read before its gradient is written
    // over it (independent iterations: a gate's slot is read and written at the same j only), in
    // one loop for each set of values read together, each vectorized; dh_next is dLoss/dh(t) within
    // the first, then its direct part for t-1 (h = (1 - z) n + z h_prev).
    T *r = dxw, *z = dxw + H, *n = dxw + 2 * H;
    RECUR_INDEPENDENT_ITERATIONS
    for (int j = 0; j < H; ++j) {
      const T dh = dh_next[j] + dh_out[j], z_j = z[j], n_j = n[j];
      n[j] = dh * (T(1) - z_j) * (T(1) - n_j * n_j);
      z[j] = dh * (h_prev[j] - n_j) * z_j * (T(1) - z_j);
      dh_next[j] = dh * z_j;
    }
    RECUR_INDEPENDENT_ITERATIONS
    for (int j = 0; j < H; ++j) {
      const T r_j = r[j], dn = n[j];
      r[j] = dn * hw_n[j] * r_j * (T(1) - r_j);
      dhw_n[j] = dn * r_j;
    }
  }
  return true;
}

}  // namespace recur
