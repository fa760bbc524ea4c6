// Elementwise activations over whole arrays, written so that the compiler vectorizes them.
#pragma once

namespace recur {

// v[i] = tanh(v[i] + bias[i % width]) for n = rows * width values.
// Accurate to a few units in the last place (double) against the C library's tanh, and
// branch-free: tanh|x| = e / (e + 2) with e = expm1(2|x|), expm1 by Cody-Waite range
// reduction and a degree-13 Taylor polynomial. float is computed in double and rounded;
// long double (used for finite differences) calls the C library.
template <typename T>
void add_bias_tanh(int rows, int width, const T* bias, T* v);

// v[i] = max(v[i] + bias[i % width], 0), NaN kept.
template <typename T>
void add_bias_relu(int rows, int width, const T* bias, T* v);

}  // namespace recur
