// The LSTM cell, forward and backward step side by side (shapes in cell.hpp). Gates in
// PyTorch's order i, f, g, o, each H wide; a = xw + h_prev W_hh^T + b:
//
//   forward:   i = s(a_i)  f = s(a_f)  g = tanh(a_g)  o = s(a_o)       s = sigmoid
//              c = f c_prev + i g          h = o tanh(c)
//              cache: i, f, g, o, tanh(c)  (5H per row)
//   backward:  dc_t = dc + dh o (1 - tanh(c)^2)
//              da_i = dc_t g i (1 - i)     da_f = dc_t c_prev f (1 - f)
//              da_g = dc_t i (1 - g^2)     da_o = dh tanh(c) o (1 - o)
//              dc_prev = dc_t f            dh_prev: none but padding's (all through W_hh)
#pragma once

#include "cells/cell.hpp"

namespace recur {

constexpr int kLstmCacheGates = 5;

template <typename T>
void lstm_forward(const CellWeights<T>& w, const ForwardStep<T>& s);

template <typename T>
bool lstm_backward(const CellWeights<T>& w, const BackwardStep<T>& s);

}  // namespace recur
