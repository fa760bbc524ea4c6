// The Elman cell: one time step over a batch of B rows, forward and backward side by side.
//
//   forward:   h = f(xw + h_prev W_hh^T + b)        xw = x W_ih^T, done for all steps at once
//              (W_hh^T is passed transposed once per sequence, so both steps stream rows)
//   backward:  da = f'(a) * (dh_out + dh_next)       dh_out from the readout, dh_next from t+1
//              f' = 1 - h^2 (tanh) or [h > 0] (relu), both from the output h
//              dh_next <- da W_hh                    carried on to step t-1
//
// The weight gradients need every step's da, so the layer computes them after the time loop,
// for all steps in one multiply each.
#pragma once

#include "recur/network.hpp"

namespace recur {

template <typename T>
void elman_forward_step(Nonlinearity f, int batch_size, int hidden_size,
                        const T* xw,           // (B, H)
                        const T* h_prev,       // (B, H)
                        const T* weight_hh_t,  // (H, H) W_hh transposed
                        const T* bias,         // (H)
                        T* h);                 // (B, H) out

template <typename T>
void elman_backward_step(Nonlinearity f, int batch_size, int hidden_size,
                         const T* h,          // (B, H) this step's output
                         const T* dh_out,     // (B, H)
                         const T* weight_hh,  // (H, H)
                         T* da,               // (B, H) out
                         T* dh_next);         // (B, H) in: from t+1; out: for t-1

}  // namespace recur
