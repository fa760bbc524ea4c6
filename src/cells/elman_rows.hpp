// Elman layers whose state fits one 512-bit vector (H <= 8 in double, <= 16 in float; the seed
// notebook's H = 8) run their whole time loop here instead of step by step. The rows of a batch
// are independent sequences, so a few rows at a time walk all their steps with h(t) in a
// register, W_hh in registers and bias and nonlinearity applied where the product ends: the
// recurrence's critical path is then a few adds and one tanh per step, with no loads, calls
// or stores on it. Same sums as elman.hpp, h = f((xw + h_prev W_hh^T) + b), the product summed
// as four interleaved parts (shorter dependency chain; a different rounding than a loop in
// order), and tanh in a short form on the range where it holds (activations.hpp). Networks of
// one such layer whose input and output fit a vector too go further: small_elman.hpp.
#pragma once

#include <cstring>

#include "activations.hpp"
#include "gemm.hpp"
#include "layer.hpp"
#include "simd.hpp"

namespace recur {

namespace rows {

template <typename T>
constexpr int kLanes = 64 / sizeof(T);

template <typename T>
using Vec = detail::Vector<T>;

// The first n <= kLanes values at p, the rest zero.
template <typename T>
inline Vec<T> load(const T* p, int n) {
  Vec<T> v{};
  if (n == kLanes<T>) {
    std::memcpy(&v, p, sizeof v);
  } else {
    for (int j = 0; j < n; ++j) v[j] = p[j];
  }
  return v;
}

template <typename T, typename V>
inline void store(T* p, int n, V v) {
  if (n == kLanes<T>) {
    std::memcpy(p, &v, sizeof v);
  } else {
    for (int j = 0; j < n; ++j) p[j] = v[j];
  }
}

// sum over k of v[k] * m[k] as four interleaved partial sums (k mod 4) added pairwise: the
// dependency chain is kLanes / 4 multiply-adds and two adds, since it is the recurrence's.
// v's lanes are taken from its native-width parts: where a 64-byte vector spans two registers
// (AVX2), GCC built each v[k] through memory; the seed's 200 epochs went from 238 to 233 us
// (Zen 3, the two binaries alternated four times). The sums are the same.
template <typename T>
inline Vec<T> product(const Vec<T>& v, const Vec<T>* m) {
  constexpr int L = kNativeLanes<T>, P = kLanes<T> / L;
  using N = NativeVector<T>;
  N parts[P];
  std::memcpy(parts, &v, sizeof parts);
  Vec<T> s[4];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) s[k] = parts[k / L][k % L] * m[k];
#pragma GCC unroll 16
  for (int k = 4; k < kLanes<T>; ++k) s[k % 4] += parts[k / L][k % L] * m[k];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

template <typename T>
inline Vec<T> activate(Nonlinearity f, Vec<T> a) {
  if (f == Nonlinearity::kRelu) {
    for (int j = 0; j < kLanes<T>; ++j) a[j] = a[j] < T(0) ? T(0) : a[j];
    return a;
  }
  T v[kLanes<T>];
  std::memcpy(v, &a, sizeof a);
  // The short form when every lane is within its range (a predicted branch, off the
  // critical path; the seed's states always are), the full kernel otherwise.
  int outside = 0;
  for (int j = 0; j < kLanes<T>; ++j) outside |= !(std::abs(v[j]) <= T(detail::kTanhShortRange));
  if (outside == 0) {
    for (int j = 0; j < kLanes<T>; ++j) v[j] = detail::tanh_short(v[j]);
  } else {
    for (int j = 0; j < kLanes<T>; ++j) v[j] = tanh_of(v[j]);
  }
  std::memcpy(&a, v, sizeof a);
  return a;
}

}  // namespace rows

template <typename T>
constexpr bool elman_rows_fit(int hidden) {
  return sizeof(T) <= sizeof(double) && hidden <= rows::kLanes<T>;
}

// Runs f.template operator()<R>(b0) over the batch in groups of R = 4 rows (enough
// independent chains to fill the pipeline), then the rest.
template <typename F>
inline void for_row_groups(int batch, F&& f) {
  int b0 = 0;
  for (; b0 + 4 <= batch; b0 += 4) f.template operator()<4>(b0);
  switch (batch - b0) {
    case 3:
      return f.template operator()<3>(b0);
    case 2:
      return f.template operator()<2>(b0);
    case 1:
      return f.template operator()<1>(b0);
    default:
      return;
  }
}

// Rows b0 .. b0 + R - 1 of layer_forward for an Elman cell with elman_rows_fit.
template <int R, typename T>
inline void elman_rows_forward(const LayerShape& shape, const CellWeights<T>& w, int b0,
                               LayerBuffers<T>& buf) {
  using V = rows::Vec<T>;
  constexpr int kLanes = rows::kLanes<T>;
  const int H = w.hidden, B = shape.batch, T_ = shape.seq_len;
  const std::size_t step = static_cast<std::size_t>(B) * H;
  V wt[kLanes] = {};  // wt[k][j] = W_hh[j, k]: row k of W_hh^T, zero past H
  for (int j = 0; j < H; ++j) {
    for (int k = 0; k < H; ++k) wt[k][j] = w.weight_hh[j * H + k];
  }
  const V bias = rows::load(w.bias, H);
  V h[R];
  int length[R];
  for (int r = 0; r < R; ++r) {
    h[r] = rows::load(
        buf.hs.data() + prev_index(shape.reverse, shape.reverse ? T_ - 1 : 0) * step + (b0 + r) * H,
        H);
    length[r] = shape.lengths != nullptr ? shape.lengths[b0 + r] : T_;
  }
  for (int s = 0; s < T_; ++s) {
    const int t = shape.reverse ? T_ - 1 - s : s;
    T* out = buf.hs.data() + state_index(shape.reverse, t) * step + b0 * H;
    const T* xw = buf.xw.data() + static_cast<std::size_t>(t) * step + b0 * H;
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      if (t < length[r]) {  // padding carries h
        h[r] = rows::activate<T>(w.nonlinearity,
                                 (rows::load(xw + r * H, H) + rows::product<T>(h[r], wt)) + bias);
      }
      rows::store(out + r * H, H, h[r]);
    }
  }
}

// Rows b0 .. b0 + R - 1 of layer_backward for an Elman cell with elman_rows_fit: dLoss/dxw
// into buf.xw, dLoss/dh carried back in registers.
template <int R, typename T>
inline void elman_rows_backward(const LayerShape& shape, const CellWeights<T>& w, const T* dh_out,
                                int ld, int b0, LayerBuffers<T>& buf) {
  using V = rows::Vec<T>;
  constexpr int kLanes = rows::kLanes<T>;
  const int H = w.hidden, B = shape.batch, T_ = shape.seq_len;
  const std::size_t step = static_cast<std::size_t>(B) * H;
  const bool tanh = w.nonlinearity == Nonlinearity::kTanh;
  V wh[kLanes] = {};  // rows of W_hh, zero past H
  for (int k = 0; k < H; ++k) wh[k] = rows::load(w.weight_hh + k * H, H);
  V dh[R];
  int length[R];
  for (int r = 0; r < R; ++r) {
    dh[r] = V{};
    length[r] = shape.lengths != nullptr ? shape.lengths[b0 + r] : T_;
  }
  for (int s = 0; s < T_; ++s) {
    const int t = shape.reverse ? s : T_ - 1 - s;
    const T* h = buf.hs.data() + state_index(shape.reverse, t) * step + b0 * H;
    const T* dh_t = dh_out + (static_cast<std::size_t>(t) * B + b0) * ld;
    T* da_out = buf.xw.data() + static_cast<std::size_t>(t) * step + b0 * H;
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const V d = rows::load(dh_t + r * ld, H) + dh[r];
      if (t >= length[r]) {  // padding: dh(t) passes to t-1 as it is
        rows::store(da_out + r * H, H, V{});
        dh[r] = d;
        continue;
      }
      const V hr = rows::load(h + r * H, H);
      V da;
      if (tanh) {
        da = (T(1) - hr * hr) * d;
      } else {
        for (int j = 0; j < kLanes; ++j) da[j] = hr[j] > T(0) ? d[j] : T(0);
      }
      rows::store(da_out + r * H, H, da);
      dh[r] = rows::product<T>(da, wh);
    }
  }
}

}  // namespace recur
