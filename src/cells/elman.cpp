#include "cells/elman.hpp"

#include <algorithm>

#include "activations.hpp"
#include "gemm.hpp"

namespace recur {

template <typename T>
void elman_forward(const CellWeights<T>& w, const ForwardStep<T>& s) {
  const int H = w.hidden, n = s.batch * H;
  std::copy(s.xw, s.xw + n, s.h);
  gemm(Trans::kNo, Trans::kNo, s.batch, H, H, T(1), s.h_prev, H, w.weight_hh_t, H, T(1), s.h, H);
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
  const int H = w.hidden, n = s.batch * H;
  if (w.nonlinearity == Nonlinearity::kTanh) {
    for (int i = 0; i < n; ++i) s.dxw[i] = (T(1) - s.h[i] * s.h[i]) * s.dh[i];
  } else {
    for (int i = 0; i < n; ++i) s.dxw[i] = s.h[i] > T(0) ? s.dh[i] : T(0);
  }
  if (s.active == nullptr) return false;  // all of dh(t-1) comes through W_hh
  std::fill(s.dh_prev, s.dh_prev + n, T(0));
  for (int b = 0; b < s.batch; ++b) {
    if (s.active[b]) continue;
    std::fill(s.dxw + b * H, s.dxw + (b + 1) * H, T(0));
    std::copy(s.dh + b * H, s.dh + (b + 1) * H, s.dh_prev + b * H);
  }
  return true;
}

#define RECUR_INSTANTIATE(T)                                                    \
  template void elman_forward<T>(const CellWeights<T>&, const ForwardStep<T>&); \
  template bool elman_backward<T>(const CellWeights<T>&, const BackwardStep<T>&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
