#include "cells/elman.hpp"

#include <algorithm>

#include "activations.hpp"
#include "gemm.hpp"

namespace recur {

template <typename T>
void elman_forward_step(Nonlinearity f, int batch_size, int hidden_size, const T* xw,
                        const T* h_prev, const T* weight_hh_t, const T* bias, T* h) {
  const int n = batch_size * hidden_size;
  std::copy(xw, xw + n, h);
  // The sum is (xw + h_prev W_hh^T) + b, in the seed notebook's order.
  gemm(Trans::kNo, Trans::kNo, batch_size, hidden_size, hidden_size, T(1), h_prev, hidden_size,
       weight_hh_t, hidden_size, T(1), h, hidden_size);
  if (f == Nonlinearity::kTanh) {
    add_bias_tanh(batch_size, hidden_size, bias, h);
  } else {
    add_bias_relu(batch_size, hidden_size, bias, h);
  }
}

template <typename T>
void elman_backward_step(Nonlinearity f, int batch_size, int hidden_size, const T* h,
                         const T* dh_out, const T* weight_hh, T* da, T* dh_next) {
  const int n = batch_size * hidden_size;
  if (f == Nonlinearity::kTanh) {
    for (int i = 0; i < n; ++i) da[i] = (T(1) - h[i] * h[i]) * (dh_out[i] + dh_next[i]);
  } else {
    for (int i = 0; i < n; ++i) da[i] = h[i] > T(0) ? dh_out[i] + dh_next[i] : T(0);
  }
  gemm(Trans::kNo, Trans::kNo, batch_size, hidden_size, hidden_size, T(1), da, hidden_size,
       weight_hh, hidden_size, T(0), dh_next, hidden_size);
}

#define RECUR_INSTANTIATE(T)                                                                     \
  template void elman_forward_step<T>(Nonlinearity, int, int, const T*, const T*, const T*,      \
                                      const T*, T*);                                             \
  template void elman_backward_step<T>(Nonlinearity, int, int, const T*, const T*, const T*, T*, \
                                       T*);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
