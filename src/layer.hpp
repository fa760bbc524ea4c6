// The recurrent layer's time loop, shared by every cell: one layer, one direction, over a
// batch of padded sequences. The cells (cells/*.hpp) do one step each; this loop walks the
// steps in time order or in reverse, keeps the states BPTT needs, and carries the state of a
// sequence through its padding, so that the reverse direction starts at each sequence's own
// last step and the forward direction's final state sits at the end.
#pragma once

#include <cstddef>
#include <vector>

#include "cells/cell.hpp"
#include "loop_tuner.hpp"
#include "part_split.hpp"
#include "recur/cache_aligned.hpp"

namespace recur {

// Grows v to at least size values, never shrinking it: workspaces reach their largest shape
// once and are then reused.
template <typename T, typename Allocator>
void grow(std::vector<T, Allocator>& v, std::size_t size) {
  if (v.size() < size) v.resize(size);
}

// Values per row a cell caches for backward besides its gates, which it keeps in xw's row:
// Elman 0, LSTM H (tanh(c)), GRU H (hw_n).
int cache_width(CellKind cell, int hidden);

// One layer-direction's buffers for [T, B]. The states sit where both directions can take
// the same multiplies over all steps: forward, h(t) is hs[t + 1] and the initial state hs[0];
// reverse, h(t) is hs[t] and the initial state hs[T]. Then h_prev(t) is hs[t] (forward) or
// hs[t + 1] (reverse), and each is one contiguous [T, B, H] block.
template <typename T>
struct LayerBuffers {
  AlignedVector<T> weight_hh_t;  // (H, G*H)
  AlignedVector<T> xw;           // (T, B, G*H): x W_ih^T (with the input fused: the LSTM's
                                 // pre-activations, Elman's and GRU's unused); dLoss/dxw after
                                 // backward
  AlignedVector<T> dhw;          // (T, B, H): GRU only, dLoss/d(h W_hn^T) (cells/gru.hpp)
  AlignedVector<T> hs;           // (T + 1, B, H)
  AlignedVector<T> cs;           // (T + 1, B, H), LSTM only
  AlignedVector<T> cache;        // (T, B, cache_width)
  PackedMatrix<T> packed_hh_t;   // W_hh^T packed for the forward steps, when large enough
  PackedMatrix<T> packed_hh;     // W_hh (or [W_hh; W], OuterGradient) packed for the backward
                                 // steps, when large enough
  PackedMatrix<T> packed_ih_t;   // W_ih^T packed for Network::step, when large enough
  LoopTuner forward_tuner;       // whether the time loops run split (loop_tuner.hpp)
  LoopTuner backward_tuner;
  PartShares forward_shares;  // and how their rows are shared (part_split.hpp)
  PartShares backward_shares;
  PartShares gradient_shares;  // the weight gradients' rows (gemm_blocked_tn_pair)
  PartShares step_shares;      // Network::step's product, where it splits

  void reserve(CellKind cell, int hidden, int seq_len, int batch_size);
};

struct LayerShape {
  CellKind cell;
  bool reverse;
  int seq_len;
  int batch;
  const int* lengths;  // (B), or nullptr when every sequence is seq_len long
};

// The per-step buffers the loops share, sized for one batch.
// Values a row of StepScratch::gates holds: a step's product, G*H, or 4H for GRU, whose fused
// product keeps n's x W_in and h W_hn apart (cells/gru.hpp).
inline int scratch_width(CellKind cell, int hidden) {
  return (cell == CellKind::kGru ? 4 : gate_count(cell)) * hidden;
}

template <typename T>
struct StepScratch {
  std::vector<unsigned char> active;  // (B)
  AlignedVector<T> gates;             // (B, scratch_width)
  AlignedVector<T> dh_next;           // (B, H) dLoss/dh(t - 1), carried back
  AlignedVector<T> dc;                // (B, H) LSTM: dLoss/dc, carried back
  AlignedVector<T> zeros;             // (H) a step's dh_out (ld 0) where its OuterGradient
                                      // came in through the product

  void reserve(CellKind cell, int hidden, int batch_size);
};

// Index of h(t) and of h_prev(t) in hs, as above.
inline int state_index(bool reverse, int t) {
  return reverse ? t : t + 1;
}
inline int prev_index(bool reverse, int t) {
  return reverse ? t + 1 : t;
}

// How many threads a time loop of `work` multiply-adds in its recurrent products splits its
// batch among (layer_forward, layer_backward) from 256M on, where splitting has always won:
// one per 32M, and never more than free_threads() or leaves a part under kMinSplitRows rows.
// Smaller loops run on one thread or split, whichever a LoopTuner has timed faster. Rows never meet
// within a step (each row's gates read its own row of the recurrent product), so each thread runs
// its rows' whole time loop with its products unsplit, and the threads meet once per loop instead
// of twice per step (the product's split, then the gates' split), unless the weights are too
// large for that (kColumnWeightBytes).
int batch_parts(int batch, long work);

// Packed recurrent weights of this many bytes or more are too large for each thread to read
// them all every step, as a loop split by rows makes it. A loop over them runs whole on the
// calling thread instead, each step's product split by columns (each thread reading its share
// of the weights) and its gates by rows, the threads meeting twice a step. On the Zen 5 host
// (session 23) a `/tmp` program of the large LSTM's forward loop, two threads, ran so
// 1.12-1.25x as fast as split by rows at H = 1024 (packed weights of 16-21 MB), level at
// H = 512 (4.7-6.3 MB), 0.9x at the medium size (1.3 MB); whole steps (bench/ab.py, 7 rounds)
// large LSTM 1.042x and GRU 1.028x, and with a limit of 1 MB instead the large Elman
// (5.2 MB), charrnn LSTM and GRU (4.7 MB) 0.974-0.977x. Measured in float; the limit is in
// bytes, what each thread reads.
constexpr std::size_t kColumnWeightBytes = std::size_t{8} << 20;

// The threads among which a loop over `packed` (nullptr: unpacked steps) splits each step's
// gates when it splits by columns (above): most_batch_parts's; 1 for a loop split by rows.
template <typename T>
int column_loop_parts(int batch, const PackedMatrix<T>* packed);

// One forward step of the given cell (streaming inference uses it alone).
template <typename T>
void cell_forward(CellKind cell, const CellWeights<T>& w, const ForwardStep<T>& s);

// W_hh (G*H, H) transposed into buf.weight_hh_t, or with pack packed (for a batch whose
// recurrent products are large enough, use_packed; packed_gemm.hpp); returns the packed
// matrix or nullptr. With refresh false, only says which the last refresh prepared.
template <typename T>
const PackedMatrix<T>* prepare_forward_weights(int gates, int hidden, bool pack, const T* weight_hh,
                                               LayerBuffers<T>& buf, bool refresh = true);
// [W_ih^T; W_hh^T] packed into buf.packed_hh_t for forward steps that take their input in
// their product (fused_input), for layers whose steps are packed (pack; GRU's with n's x W_in and
// h W_hn apart, cells/gru.hpp); returns it, or nullptr for a layer that computes x W_ih^T
// for all steps first (unpacked steps, one-vector Elman layers). With refresh false, only
// says which the last refresh prepared, as prepare_forward_weights.
template <typename T>
const PackedMatrix<T>* prepare_fused_weights(CellKind cell, int input, int hidden, bool pack,
                                             const T* weight_ih, const T* weight_hh,
                                             LayerBuffers<T>& buf, bool refresh = true);
// dLoss/dh(t) from outside a layer as a product, a(t) W, that the backward steps take into
// their own: the readout's dy W_o, or the layer above's dxw W_ih. Row b of step t of a at
// a + (t B + b) lda, W [width, H] with rows ldw apart. Each step's product is then
// [dxw, a(t-1)] [W_hh; W], which at the medium sizes costs less than the product over all
// steps (NN 6400x256x64, its 6.5 MB written and read back) it replaces.
template <typename T>
struct OuterGradient {
  const T* a = nullptr;  // nullptr: none; dh_out(t) is given as it is
  int lda = 0;
  int width = 0;
  const T* weight = nullptr;
  int ldw = 0;
};

// Whether layer_backward's steps of this cell, hidden size and batch are packed, and so take
// an OuterGradient in: not for the one-vector Elman layers, nor products too small to pack.
template <typename T>
bool backward_takes_outer(CellKind cell, int hidden, int batch);

// W_hh packed for the backward steps when large enough, over outer's W if outer is given
// (backward_takes_outer); returns it or nullptr.
template <typename T>
const PackedMatrix<T>* prepare_backward_weights(CellKind cell, int hidden, int batch,
                                                const T* weight_hh, LayerBuffers<T>& buf,
                                                const OuterGradient<T>& outer = {});

// Runs the steps; buf.xw must hold x W_ih^T (unless w.fused_input, when x [T, B, I] is the
// layer's input and buf.xw only room), the initial state must be in place, and
// buf.weight_hh_t must hold W_hh transposed.
template <typename T>
void layer_forward(const LayerShape& shape, const CellWeights<T>& w, LayerBuffers<T>& buf,
                   StepScratch<T>& scratch, const T* x = nullptr);

// BPTT through the steps of the last layer_forward: dh_out(t) (row b at dh_out + (t B + b)
// ld) is dLoss/dh(t) from outside the layer, or with outer.a given, outer's product (and
// dh_out unread; w.packed_hh then packed with outer). Leaves dLoss/dxw in buf.xw (and for GRU
// the n part of dLoss/dhw in buf.dhw, its r and z parts being dxw's); the weight gradients
// are then products over all steps.
template <typename T>
void layer_backward(const LayerShape& shape, const CellWeights<T>& w, const T* dh_out, int ld,
                    LayerBuffers<T>& buf, StepScratch<T>& scratch,
                    const OuterGradient<T>& outer = {});

}  // namespace recur
