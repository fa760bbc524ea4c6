// A whole network of one unidirectional Elman layer whose input, state and output each fit
// one 512-bit vector (the seed notebook's I = 1, H = 8, O = 1) in one pass over time.
//
// At these sizes the general path's cost is not arithmetic but calls: eight tiny products
// and column sums around the recurrence (input projection, readout, and the gradients), each
// a few dozen nanoseconds of dispatch for a few dozen multiply-adds; with them the seed's 200
// epochs took 165 us, 94 us without. Here they ride along in the time loop, off the
// recurrence's critical path: the input projection and the readout are vector products of
// each step, and the backward pass sums every weight gradient over time as it goes, in place
// of the products after it. Same sums as the general path in another order (products as in
// elman_rows.hpp): agreement is within rounding (tests/small_elman_test.cpp).
//
// Measured on the seed, and kept so: a lane of a vector written in memory and then read as a
// whole vector waits for the store (no forwarding), costing more than the loop's arithmetic,
// so inputs and outputs narrower than a vector go through scalars (x[i] * wi[i], d_y[p] *
// wo[p]), never a partial vector.
#pragma once

#include <utility>

#include "cells/elman_rows.hpp"
#include "layer.hpp"
#include "recur/network.hpp"

namespace recur {

template <typename T>
bool small_elman_fits(const NetworkConfig& c) {
  if constexpr (!elman_rows_fit<T>(1)) {
    return false;
  } else {
    constexpr int kLanes = rows::kLanes<T>;
    return c.cell == CellKind::kElman && c.layers == 1 && !c.bidirectional &&
           c.input_size <= kLanes && c.hidden_size <= kLanes && c.output_size <= kLanes;
  }
}

// The network's tensors and buffers, as Network lays them out.
template <typename T>
struct SmallElman {
  int I, H, O;
  Nonlinearity nonlinearity;
  const T* weight_ih;  // (H, I)
  const T* weight_hh;  // (H, H)
  const T* bias;       // (H)
  const T* weight_o;   // (O, H)
  const T* bias_o;     // (O)
  int seq_len, batch;
  const int* lengths;  // (B), or nullptr when every sequence is seq_len long
  const T* x;          // (T, B, I)
  T* hs;               // (T + 1, B, H): hs[0] the initial state, hs[t + 1] = h(t)
  T* y;                // (T, B, O), zero at padded steps
};

// The gradient sums of a backward pass, W_ih and W_hh kept as their columns (ih[i][j] =
// dLoss/dW_ih[j, i], hh[k][j] = dLoss/dW_hh[j, k]) and W_o as its rows (o[p][j] =
// dLoss/dW_o[p, j]).
template <typename T>
struct SmallElmanGradients {
  rows::Vec<T> ih[rows::kLanes<T>] = {}, hh[rows::kLanes<T>] = {}, o[rows::kLanes<T>] = {};
  rows::Vec<T> bias{};
  T bias_o[rows::kLanes<T>] = {};
};

namespace small_elman {

// Lanes j of a[j * stride] for j < n, zero beyond: built in registers from scalars.
template <typename T, typename V, std::size_t... J>
V strided(const T* a, int stride, int n, std::index_sequence<J...>) {
  return V{(static_cast<int>(J) < n ? a[static_cast<int>(J) * stride] : T(0))...};
}

// m[k] = row k of the [rows, cols] matrix a, or its column k when transposed; zero beyond.
// Each vector is built whole, never lane by lane in memory: a vector read whole after its
// lanes were stored one at a time waits for the stores (no forwarding), and written so the
// five loads of the seed's epoch had taken 9.5% of its samples (perf; 5.4% now).
template <typename T, typename V>
void load_matrix(const T* a, int rows_n, int cols, bool transpose, V* m) {
  constexpr int kLanes = rows::kLanes<T>;
  const auto lanes = std::make_index_sequence<kLanes>{};
  const int count = transpose ? cols : rows_n;
  for (int k = 0; k < kLanes; ++k) {
    if (k >= count) {
      m[k] = V{};
    } else if (transpose) {
      m[k] = strided<T, V>(a + k, cols, rows_n, lanes);
    } else {
      m[k] = rows::load(a + k * cols, cols);
    }
  }
}

// Rows b0 .. b0 + R - 1 of the forward pass. The recurrence and the readout multiply the h in
// a register (broadcasting its lanes); the input projection broadcasts x's values from memory
// and loops over I only.
template <int R, typename T>
void forward_rows(const SmallElman<T>& n, int b0) {
  using V = rows::Vec<T>;
  constexpr int kLanes = rows::kLanes<T>;
  V wi[kLanes], wh[kLanes], wo[kLanes];  // W_ih^T, W_hh^T and W_o^T by rows
  load_matrix(n.weight_ih, n.H, n.I, true, wi);
  load_matrix(n.weight_hh, n.H, n.H, true, wh);
  load_matrix(n.weight_o, n.O, n.H, true, wo);
  const V bias = rows::load(n.bias, n.H), bias_o = rows::load(n.bias_o, n.O);
  V lane{};
  for (int j = 0; j < kLanes; ++j) lane[j] = T(j);
  const auto real = lane < T(n.H);  // the lanes of h; the rest must stay 0, not Inf * 0
  const std::size_t step = static_cast<std::size_t>(n.batch) * n.H;
  V h[R];
  int length[R];
  for (int r = 0; r < R; ++r) {
    h[r] = rows::load(n.hs + (b0 + r) * n.H, n.H);
    length[r] = n.lengths != nullptr ? n.lengths[b0 + r] : n.seq_len;
  }
  for (int t = 0; t < n.seq_len; ++t) {
    const std::size_t row = static_cast<std::size_t>(t) * n.batch + b0;
    T* out = n.hs + step + row * n.H;
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      T* h_out = out + r * n.H;
      T* y_out = n.y + (row + r) * n.O;
      if (t >= length[r]) {  // padding carries h and outputs zero
        rows::store(h_out, n.H, h[r]);
        rows::store(y_out, n.O, V{});
        continue;
      }
      const T* x = n.x + (row + r) * n.I;
      V xw = x[0] * wi[0];
      for (int i = 1; i < n.I; ++i) xw += x[i] * wi[i];
      xw = real ? xw : V{};  // an infinite x: tanh gives +-1 in h's lanes, NaN past them
      h[r] = rows::activate<T>(n.nonlinearity, (xw + rows::product<T>(h[r], wh)) + bias);
      rows::store(h_out, n.H, h[r]);
      rows::store(y_out, n.O, rows::product<T>(h[r], wo) + bias_o);
    }
  }
}

// Rows b0 .. b0 + R - 1 of the backward pass for dLoss/dy = dy (T, B, O), added into g. The
// gradient sums stay in g (memory, off the critical path), each term a scalar broadcast from
// memory times a vector.
template <int R, typename T>
void backward_rows(const SmallElman<T>& n, const T* dy, int b0, SmallElmanGradients<T>& g) {
  using V = rows::Vec<T>;
  constexpr int kLanes = rows::kLanes<T>;
  const bool tanh = n.nonlinearity == Nonlinearity::kTanh;
  V wh[kLanes], wo[kLanes];  // W_hh and W_o by rows: dh_prev = da W_hh, dh = dy W_o
  load_matrix(n.weight_hh, n.H, n.H, false, wh);
  load_matrix(n.weight_o, n.O, n.H, false, wo);
  const std::size_t step = static_cast<std::size_t>(n.batch) * n.H;
  V dh[R];
  int length[R];
  for (int r = 0; r < R; ++r) {
    dh[r] = V{};
    length[r] = n.lengths != nullptr ? n.lengths[b0 + r] : n.seq_len;
  }
  for (int t = n.seq_len - 1; t >= 0; --t) {
    const std::size_t row = static_cast<std::size_t>(t) * n.batch + b0;
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      if (t >= length[r]) continue;  // padding: dh(t) passes to t - 1 as it is
      const T* d_y = dy + (row + r) * n.O;
      const T* h_t = n.hs + step + (row + r) * n.H;
      const T* h_prev = n.hs + (row + r) * n.H;
      const T* x = n.x + (row + r) * n.I;
      V d = dh[r];
      for (int p = 0; p < n.O; ++p) d += d_y[p] * wo[p];
      const V h = rows::load(h_t, n.H);
      V da;
      if (tanh) {
        da = (T(1) - h * h) * d;
      } else {
        for (int j = 0; j < kLanes; ++j) da[j] = h[j] > T(0) ? d[j] : T(0);
      }
      dh[r] = rows::product<T>(da, wh);
      for (int k = 0; k < n.H; ++k) g.hh[k] += h_prev[k] * da;
      for (int i = 0; i < n.I; ++i) g.ih[i] += x[i] * da;
      g.bias += da;
      for (int p = 0; p < n.O; ++p) {
        g.o[p] += d_y[p] * h;
        g.bias_o[p] += d_y[p];
      }
    }
  }
}

}  // namespace small_elman

template <typename T>
void small_elman_forward(const SmallElman<T>& n) {
  for_row_groups(n.batch, [&]<int R>(int b0) { small_elman::forward_rows<R>(n, b0); });
}

// dLoss/d(every parameter) for dLoss/dy = dy (T, B, O), written into the gradient tensors
// (same layout as the parameters). dy at padded steps is ignored.
template <typename T>
void small_elman_backward(const SmallElman<T>& n, const T* dy, T* weight_ih, T* weight_hh, T* bias,
                          T* weight_o, T* bias_o) {
  SmallElmanGradients<T> g;
  for_row_groups(n.batch, [&]<int R>(int b0) { small_elman::backward_rows<R>(n, dy, b0, g); });
  for (int j = 0; j < n.H; ++j) {
    for (int i = 0; i < n.I; ++i) weight_ih[j * n.I + i] = g.ih[i][j];
    for (int k = 0; k < n.H; ++k) weight_hh[j * n.H + k] = g.hh[k][j];
    bias[j] = g.bias[j];
  }
  for (int p = 0; p < n.O; ++p) {
    for (int j = 0; j < n.H; ++j) weight_o[p * n.H + j] = g.o[p][j];
    bias_o[p] = g.bias_o[p];
  }
}

}  // namespace recur
