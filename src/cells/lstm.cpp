#include "cells/lstm.hpp"

#include <algorithm>

#include "activations.hpp"
#include "gemm.hpp"

namespace recur {

template <typename T>
void lstm_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden, G = 4 * H;
  std::copy(s.xw, s.xw + s.batch * G, s.scratch);
  recurrent_product(w, s.batch, 4, s.h_prev, T(1), s.scratch);
  for (int b = 0; b < s.batch; ++b) {
    const T* c_prev = s.c_prev + b * H;
    T* h = s.h + b * H;
    T* c = s.c + b * H;
    if (s.active != nullptr && !s.active[b]) {
      std::copy(s.h_prev + b * H, s.h_prev + (b + 1) * H, h);
      std::copy(c_prev, c_prev + H, c);
      continue;
    }
    const T* a = s.scratch + b * G;
    T* cache = s.cache + b * kLstmCacheGates * H;
    for (int j = 0; j < H; ++j) {
      const T i = sigmoid_of(a[j] + w.bias[j]);
      const T f = sigmoid_of(a[H + j] + w.bias[H + j]);
      const T g = tanh_of(a[2 * H + j] + w.bias[2 * H + j]);
      const T o = sigmoid_of(a[3 * H + j] + w.bias[3 * H + j]);
      c[j] = f * c_prev[j] + i * g;
      const T tanh_c = tanh_of(c[j]);
      h[j] = o * tanh_c;
      cache[j] = i;
      cache[H + j] = f;
      cache[2 * H + j] = g;
      cache[3 * H + j] = o;
      cache[4 * H + j] = tanh_c;
    }
  }
}

template <typename T>
bool lstm_backward(const CellWeights<T>& w, const BackwardStep<T>& s) {
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
    for (int j = 0; j < H; ++j) {
      const T i = cache[j], f = cache[H + j], g = cache[2 * H + j], o = cache[3 * H + j];
      const T tanh_c = cache[4 * H + j], dh = dh_out[j] + dh_next[j];
      const T dc_t = dc[j] + dh * o * (T(1) - tanh_c * tanh_c);
      da[j] = dc_t * g * i * (T(1) - i);
      da[H + j] = dc_t * c_prev[j] * f * (T(1) - f);
      da[2 * H + j] = dc_t * i * (T(1) - g * g);
      da[3 * H + j] = dh * tanh_c * o * (T(1) - o);
      dc[j] = dc_t * f;
    }
    if (s.active != nullptr) std::fill(dh_next, dh_next + H, T(0));
  }
  return s.active != nullptr;  // only padding has a direct term
}

#define RECUR_INSTANTIATE(T)                                                   \
  template void lstm_forward<T>(const CellWeights<T>&, const ForwardStep<T>&); \
  template bool lstm_backward<T>(const CellWeights<T>&, const BackwardStep<T>&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
