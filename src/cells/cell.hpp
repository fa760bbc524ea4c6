// What every cell's time step sees: the shared time loop (layer.cpp) hands each cell one step
// of a batch as these structs, and each cell (elman, lstm, gru) does its pointwise work and
// its part of the recurrent multiply. The loop does the rest: the input projection for all
// steps before the loop (unless the steps are packed, when each step's product takes its
// input: CellWeights::fused_input), dh(t-1) += dhw W_hh after each backward step (GRU's
// dhw read as [dxw's r and z parts, its own n part]), and the weight gradients for all steps
// after it.
#pragma once

#include "gemm.hpp"
#include "packed_gemm.hpp"
#include "recur/network.hpp"

// Before a loop whose iterations are independent although the compiler cannot prove it (a
// cell's gate read and overwritten at the same j): GCC then vectorizes it without run-time
// alias checks. (Clang serves only the fuzz build, where a loop it could not vectorize as
// asked would be an error under -Werror.)
#if defined(__GNUC__) && !defined(__clang__)
#define RECUR_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#else
#define RECUR_INDEPENDENT_ITERATIONS
#endif

namespace recur {

template <typename T>
struct CellWeights {
  Nonlinearity nonlinearity;  // Elman only
  int hidden;                 // H
  const T* weight_hh;         // (G*H, H)
  const T* weight_hh_t;       // (H, G*H): W_hh transposed, so that the forward step streams rows
  const T* bias;              // (G*H), added to every gate (GRU: b_ih)
  const T* bias_hh;           // (3H), GRU only: b_hh, with b_hn inside r * (W_hn h + b_hn)
  const PackedMatrix<T>* packed_hh_t = nullptr;  // W_hh^T packed for the forward steps
  const PackedMatrix<T>* packed_hh = nullptr;    // W_hh (or [W_hh; W], layer.hpp's
                                                 // OuterGradient) packed for backward
  // Above 0, the input fused into the forward steps' product: packed_hh_t holds
  // [W_ih^T; W_hh^T] (GRU: with n's two halves apart, gru.hpp), and each step multiplies
  // [x, h_prev] (packed steps only).
  int fused_input = 0;
};

// out [B, G*H] = h_prev W_hh^T + beta out, the forward step's recurrent product; with the
// input fused, out = x W_ih^T + h_prev W_hh^T (Elman and LSTM) or GRU's [B, 4H] (gru.hpp),
// out not read.
template <typename T>
inline void recurrent_product(const CellWeights<T>& w, int batch, int gates, const T* h_prev,
                              T beta, T* out, const T* x = nullptr, int ldx = 0) {
  const int H = w.hidden, G = gates * H;
  if constexpr (sizeof(T) <= sizeof(double)) {
    if (w.fused_input > 0) {
      const PackedMatrix<T>& fused = *w.packed_hh_t;
      return gemm_packed<T>(batch, {{x, ldx, w.fused_input}, {h_prev, H, H}}, fused, T(0), out,
                            fused.cols());
    }
    if (w.packed_hh_t != nullptr)
      return gemm_packed(batch, h_prev, H, *w.packed_hh_t, beta, out, G);
  }
  gemm(Trans::kNo, Trans::kNo, batch, G, H, T(1), h_prev, H, w.weight_hh_t, G, beta, out, G);
}

// One forward step over a batch of B rows. Rows with active[b] == 0 (padding) carry their
// state through unchanged: h = h_prev, c = c_prev. active == nullptr: every row is real.
template <typename T>
struct ForwardStep {
  int batch;
  const unsigned char* active;
  T* xw;                 // (B, G*H): x W_ih^T, bias not yet added; spent by the step (the LSTM
                         // adds its recurrent product into it, or with the input fused writes
                         // its product there; Elman's and GRU's fused steps do not read it).
                         // The LSTM and GRU leave their gates there for backward.
  const T* h_prev;       // (B, H)
  const T* c_prev;       // (B, H), LSTM only
  T* h;                  // (B, H) out
  T* c;                  // (B, H) out, LSTM only
  T* cache;              // (B, cache width) out: what backward needs besides h and c
  T* scratch;            // (B, scratch_width) (layer.hpp)
  const T* x = nullptr;  // (B, I), row b at x + b * ldx: the input, when fused (CellWeights)
  int ldx = 0;
};

// One backward step. dLoss/dh(t) is dh_out (from the layer's output) + dh_next (from step
// t+1), summed by the cell as it reads them. Inactive rows pass dh and dc through to t-1 and
// leave zero gate gradients. A cell's backward returns whether it wrote into dh_next the part
// of dLoss/dh(t-1) that does not pass through W_hh; if not, dh_next is left for the layer to
// overwrite with dhw W_hh.
template <typename T>
struct BackwardStep {
  int batch;
  const unsigned char* active;
  const T* cache;   // as the forward step wrote it
  const T* h_prev;  // (B, H)
  const T* c_prev;  // (B, H), LSTM only
  const T* h;       // (B, H)
  const T* c;       // (B, H), LSTM only
  const T* dh_out;  // (B, H), row b at dh_out + b * ld
  int ld;
  T* dc;       // (B, H), LSTM only: in dLoss/dc(t), out dLoss/dc(t-1)
  T* dxw;      // (B, G*H) in: the LSTM's and GRU's gates as forward left them in xw; out:
               // dLoss/d(pre-activations) on the input side, over them
  T* dhw;      // GRU: (B, H) out, n's part on the recurrent side, dLoss/d(h W_hn^T) (its r
               // and z parts are dxw's); Elman and LSTM: dxw itself, (B, G*H)
  T* dh_next;  // (B, H) in: dLoss/dh(t) from step t+1; out: as above
};

}  // namespace recur
