#include "cells/gru.hpp"

#include <algorithm>

#include "activations.hpp"
#include "gemm.hpp"

namespace recur {

template <typename T>
void gru_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden, G = 3 * H;
  recurrent_product(w, s.batch, 3, s.h_prev, T(0), s.scratch);
  for (int b = 0; b < s.batch; ++b) {
    const T* h_prev = s.h_prev + b * H;
    T* h = s.h + b * H;
    if (s.active != nullptr && !s.active[b]) {
      std::copy(h_prev, h_prev + H, h);
      continue;
    }
    const T* xw = s.xw + b * G;
    const T* hw = s.scratch + b * G;
    T* cache = s.cache + b * kGruCacheGates * H;
    for (int j = 0; j < H; ++j) {
      const T r = sigmoid_of((xw[j] + w.bias[j]) + (hw[j] + w.bias_hh[j]));
      const T z = sigmoid_of((xw[H + j] + w.bias[H + j]) + (hw[H + j] + w.bias_hh[H + j]));
      const T hw_n = hw[2 * H + j] + w.bias_hh[2 * H + j];
      const T n = tanh_of(xw[2 * H + j] + w.bias[2 * H + j] + r * hw_n);
      h[j] = (T(1) - z) * n + z * h_prev[j];
      cache[j] = r;
      cache[H + j] = z;
      cache[2 * H + j] = n;
      cache[3 * H + j] = hw_n;
    }
  }
}

template <typename T>
bool gru_backward(const CellWeights<T>& w, const BackwardStep<T>& s) {
  const int H = w.hidden, G = 3 * H;
  for (int b = 0; b < s.batch; ++b) {
    T* dxw = s.dxw + b * G;
    T* dhw = s.dhw + b * G;
    const T* dh_out = s.dh_out + b * s.ld;
    T* dh_next = s.dh_next + b * H;
    if (s.active != nullptr && !s.active[b]) {  // padding: dh(t) passes to t-1 as it is
      std::fill(dxw, dxw + G, T(0));
      std::fill(dhw, dhw + G, T(0));
      for (int j = 0; j < H; ++j) dh_next[j] += dh_out[j];
      continue;
    }
    const T* cache = s.cache + b * kGruCacheGates * H;
    const T* h_prev = s.h_prev + b * H;
    for (int j = 0; j < H; ++j) {
      const T r = cache[j], z = cache[H + j], n = cache[2 * H + j], hw_n = cache[3 * H + j];
      const T dh = dh_out[j] + dh_next[j];
      const T dn = dh * (T(1) - z) * (T(1) - n * n);
      const T dz = dh * (h_prev[j] - n) * z * (T(1) - z);
      const T dr = dn * hw_n * r * (T(1) - r);
      dxw[j] = dhw[j] = dr;
      dxw[H + j] = dhw[H + j] = dz;
      dxw[2 * H + j] = dn;
      dhw[2 * H + j] = dn * r;
      dh_next[j] = dh * z;  // h = (1 - z) n + z h_prev: the direct path to t-1
    }
  }
  return true;
}

#define RECUR_INSTANTIATE(T)                                                  \
  template void gru_forward<T>(const CellWeights<T>&, const ForwardStep<T>&); \
  template bool gru_backward<T>(const CellWeights<T>&, const BackwardStep<T>&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
