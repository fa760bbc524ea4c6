// The Elman cell, forward and backward step side by side (shapes in cell.hpp):
//
//   forward:   h = f(xw + h_prev W_hh^T + b)       in the seed notebook's order of sums
//   backward:  dxw = f'(a) * dh                     f' = 1 - h^2 (tanh) or [h > 0] (relu)
//              dh_prev: none but padding's            (all of it passes through W_hh)
#pragma once

#include "cells/cell.hpp"

namespace recur {

template <typename T>
void elman_forward(const CellWeights<T>& w, const ForwardStep<T>& s);

template <typename T>
bool elman_backward(const CellWeights<T>& w, const BackwardStep<T>& s);

}  // namespace recur
