#include "cells/elman.hpp"

#include <algorithm>

#include "activations.hpp"
#include "gemm.hpp"

namespace recur {

template <typename T>
void elman_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden, n = s.batch * H;
  std::copy(s.xw, s.xw + n, s.h);
  recurrent_product(w, s.batch, 1, s.h_prev, T(1), s.h);
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
bool elman_backward(const CellWeights<T>& w, const BackwardStep<T>& s) {
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

#define RECUR_INSTANTIATE(T)                                                    \
  template void elman_forward<T>(const CellWeights<T>&, const ForwardStep<T>&); \
  template bool elman_backward<T>(const CellWeights<T>&, const BackwardStep<T>&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
