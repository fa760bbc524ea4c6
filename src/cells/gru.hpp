// The GRU cell, forward and backward step side by side (shapes in cell.hpp). Gates in
// PyTorch's order r, z, n, each H wide; hw = h_prev W_hh^T + b_hh, xb = xw + b_ih:
//
//   forward:   r = s(xb_r + hw_r)    z = s(xb_z + hw_z)    n = tanh(xb_n + r hw_n)
//              h = (1 - z) n + z h_prev
//              cache: r, z, n, hw_n  (4H per row)
//   backward:  dn = dh (1 - z) (1 - n^2)      dz = dh (h_prev - n) z (1 - z)
//              dr = dn hw_n r (1 - r)
//              dxw = (dr, dz, dn)     dhw = (dr, dz, dn r)     dh_prev = dh z
#pragma once

#include "cells/cell.hpp"

namespace recur {

constexpr int kGruCacheGates = 4;

template <typename T>
void gru_forward(const CellWeights<T>& w, const ForwardStep<T>& s);

template <typename T>
bool gru_backward(const CellWeights<T>& w, const BackwardStep<T>& s);

}  // namespace recur
