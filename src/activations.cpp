#include "activations.hpp"

#include <cmath>

namespace recur {

template <typename T>
void add_bias_tanh(int rows, int width, const T* bias, T* v) {
  for (int r = 0; r < rows; ++r) {
    T* row = v + static_cast<long>(r) * width;
    for (int j = 0; j < width; ++j) row[j] = tanh_of(row[j] + bias[j]);
  }
}

template <typename T>
void add_bias_relu(int rows, int width, const T* bias, T* v) {
  for (int r = 0; r < rows; ++r) {
    T* row = v + static_cast<long>(r) * width;
    for (int j = 0; j < width; ++j) {
      const T a = row[j] + bias[j];
      row[j] = a < T(0) ? T(0) : a;
    }
  }
}

template void add_bias_relu<float>(int, int, const float*, float*);
template void add_bias_relu<double>(int, int, const double*, double*);
template void add_bias_relu<long double>(int, int, const long double*, long double*);
template void add_bias_tanh<float>(int, int, const float*, float*);
template void add_bias_tanh<double>(int, int, const double*, double*);
template void add_bias_tanh<long double>(int, int, const long double*, long double*);

}  // namespace recur
