#include "layer.hpp"

#include <algorithm>
#include <cstddef>

#include "cells/elman.hpp"
#include "cells/elman_rows.hpp"
#include "cells/gru.hpp"
#include "cells/lstm.hpp"
#include "gemm.hpp"
#include "packed_gemm.hpp"
#include "part_split.hpp"
#include "recur/error.hpp"
#include "thread_pool.hpp"

namespace recur {

int cache_width(CellKind cell, int hidden) {
  switch (cell) {
    case CellKind::kLstm:
      return kLstmCachePerUnit * hidden;
    case CellKind::kGru:
      return kGruCachePerUnit * hidden;
    case CellKind::kElman:
      break;
  }
  return 0;
}

namespace {

// Marks rows [b0, b1) whose step t is real; returns active + b0, or nullptr when all are.
const unsigned char* mark_active(const LayerShape& shape, int t, int b0, int b1,
                                 unsigned char* active) {
  if (shape.lengths == nullptr) return nullptr;
  bool all = true;
  for (int b = b0; b < b1; ++b) {
    active[b] = t < shape.lengths[b];
    all = all && active[b];
  }
  return all ? nullptr : active + b0;
}

// Rows [r0, r1) of a step: each per-row pointer moved on r0 rows.
// (The product's rows in scratch: GRU's fused product's 4H, the unfused one's G = 3H.)
template <typename T>
ForwardStep<T> step_rows(const ForwardStep<T>& s, const CellWeights<T>& w, CellKind cell, int r0,
                         int r1) {
  const int hidden = w.hidden;
  const std::size_t r = r0, H = hidden, G = gate_count(cell) * H;
  const std::size_t scratch_row =
      cell == CellKind::kGru && w.fused_input == 0 ? G : scratch_width(cell, hidden);
  ForwardStep<T> out = s;
  out.batch = r1 - r0;
  if (s.active != nullptr) out.active = s.active + r;
  out.xw = s.xw + r * G;
  out.h_prev = s.h_prev + r * H;
  out.h = s.h + r * H;
  if (s.c != nullptr) {
    out.c_prev = s.c_prev + r * H;
    out.c = s.c + r * H;
  }
  out.cache = s.cache + r * cache_width(cell, hidden);
  out.scratch = s.scratch + r * scratch_row;
  if (s.x != nullptr) out.x = s.x + r * s.ldx;
  return out;
}

template <typename T>
BackwardStep<T> step_rows(const BackwardStep<T>& s, const CellWeights<T>& w, CellKind cell, int r0,
                          int r1) {
  const int hidden = w.hidden;
  const std::size_t r = r0, H = hidden, G = gate_count(cell) * H;
  BackwardStep<T> out = s;
  out.batch = r1 - r0;
  if (s.active != nullptr) out.active = s.active + r;
  out.cache = s.cache + r * cache_width(cell, hidden);
  out.h_prev = s.h_prev + r * H;
  out.h = s.h + r * H;
  if (s.c != nullptr) {
    out.c_prev = s.c_prev + r * H;
    out.c = s.c + r * H;
    out.dc = s.dc + r * H;
  }
  out.dh_out = s.dh_out + r * s.ld;
  out.dxw = s.dxw + r * G;
  out.dhw = s.dhw == s.dxw ? out.dxw : s.dhw + r * H;  // GRU's n part apart, [B, H]
  out.dh_next = s.dh_next + r * H;
  return out;
}

// Runs gates(rows) for the step's rows, split evenly among `parts` threads (1: on this one).
template <typename Step, typename T, typename F>
void for_step_rows(const Step& s, const CellWeights<T>& w, CellKind cell, int parts, F&& gates) {
  if (parts <= 1) return gates(s);
  auto part = [&](int p) {
    const int r0 = s.batch * p / parts, r1 = s.batch * (p + 1) / parts;
    gates(step_rows(s, w, cell, r0, r1));
  };
  parallel_for_parts(parts, part);
}

// One cell's steps, chosen at compile time so that the time loops below inline them: the
// product, which splits among free threads on its own, then the gates, row by row, split
// among `gate_parts` threads (column_loop_parts).
template <CellKind kCell, typename T>
inline void forward_step(const CellWeights<T>& w, const ForwardStep<T>& s, int gate_parts) {
  if constexpr (kCell == CellKind::kElman) {
    elman_forward_product(w, s);
  } else if constexpr (kCell == CellKind::kLstm) {
    lstm_forward_product(w, s);
  } else {
    gru_forward_product(w, s);
  }
  for_step_rows(s, w, kCell, gate_parts, [&](const ForwardStep<T>& rows) {
    if constexpr (kCell == CellKind::kElman) {
      elman_forward_gates(w, rows);
    } else if constexpr (kCell == CellKind::kLstm) {
      lstm_forward_gates(w, rows);
    } else {
      gru_forward_gates(w, rows);
    }
  });
}

// The backward step's gates (its product follows in backward_loop); whether it wrote a direct
// part of dLoss/dh(t-1), which depends only on whether the step has padding, alike in every part.
template <CellKind kCell, typename T>
inline bool backward_step(const CellWeights<T>& w, const BackwardStep<T>& s, int gate_parts) {
  bool direct = false;
  for_step_rows(s, w, kCell, gate_parts, [&](const BackwardStep<T>& rows) {
    bool wrote;
    if constexpr (kCell == CellKind::kElman) {
      wrote = elman_backward(w, rows);
    } else if constexpr (kCell == CellKind::kLstm) {
      wrote = lstm_backward(w, rows);
    } else {
      wrote = gru_backward(w, rows);
    }
    if (rows.dh_next == s.dh_next) direct = wrote;  // the first part's
  });
  return direct;
}

}  // namespace

template <typename T>
void cell_forward(CellKind cell, const CellWeights<T>& w, const ForwardStep<T>& s) {
  switch (cell) {
    case CellKind::kElman:
      return elman_forward(w, s);
    case CellKind::kLstm:
      return lstm_forward(w, s);
    case CellKind::kGru:
      return gru_forward(w, s);
  }
}

template <typename T>
void LayerBuffers<T>::reserve(CellKind cell, int hidden, int seq_len, int batch_size) {
  const std::size_t G = static_cast<std::size_t>(gate_count(cell)) * hidden;
  const std::size_t steps = static_cast<std::size_t>(seq_len) * batch_size;
  grow(weight_hh_t, G * hidden);
  grow(xw, steps * G);
  if (cell == CellKind::kGru) grow(dhw, steps * hidden);  // n's part (cells/gru.hpp)
  grow(hs, (steps + batch_size) * hidden);
  if (cell == CellKind::kLstm) grow(cs, (steps + batch_size) * hidden);
  grow(cache, steps * cache_width(cell, hidden));
}

template <typename T>
void StepScratch<T>::reserve(CellKind cell, int hidden, int batch_size) {
  const std::size_t rows = batch_size;
  grow(active, rows);
  grow(gates, rows * scratch_width(cell, hidden));
  grow(dh_next, rows * hidden);
  grow(dc, rows * hidden);
  grow(zeros, static_cast<std::size_t>(hidden));  // never written: zeros as it grew
}

namespace {

// The most parts a time loop's batch splits into: parts of kMinSplitRows rows or more, on
// free threads.
int most_batch_parts(int batch) {
  return std::max(1, std::min(free_threads(), batch / kMinSplitRows));
}

}  // namespace

int batch_parts(int batch, long work) {
  // One thread per 32M multiply-adds: the medium and charrnn loops (420M-1.7G) run 6-12%
  // faster split than with each product split. Smaller loops are timed (for_batch_ranges).
  constexpr long kWorkPerThread = 1L << 25;
  return static_cast<int>(
      std::max<long>(1, std::min<long>(most_batch_parts(batch), work / kWorkPerThread)));
}

template <typename T>
int column_loop_parts(int batch, const PackedMatrix<T>* packed) {
  if (packed == nullptr) return 1;
  const std::size_t bytes = static_cast<std::size_t>(packed->rows()) * packed->cols() * sizeof(T);
  return bytes < kColumnWeightBytes ? 1 : most_batch_parts(batch);
}

template <typename T>
const PackedMatrix<T>* prepare_forward_weights(int gates, int hidden, bool pack, const T* weight_hh,
                                               LayerBuffers<T>& buf, bool refresh) {
  const int G = gates * hidden;
  if constexpr (sizeof(T) <= sizeof(double)) {
    if (pack) {  // the packed product never reads weight_hh_t
      if (refresh) buf.packed_hh_t.pack(Trans::kYes, hidden, G, weight_hh, hidden);
      return &buf.packed_hh_t;
    }
  }
  if (!refresh) return nullptr;
  T* out = buf.weight_hh_t.data();
  for (int j = 0; j < G; ++j) {
    for (int k = 0; k < hidden; ++k) out[k * G + j] = weight_hh[j * hidden + k];
  }
  return nullptr;
}

template <typename T>
const PackedMatrix<T>* prepare_fused_weights(CellKind cell, int input, int hidden, bool pack,
                                             const T* weight_ih, const T* weight_hh,
                                             LayerBuffers<T>& buf, bool refresh) {
  if constexpr (sizeof(T) <= sizeof(double)) {
    const int G = gate_count(cell) * hidden;
    // One-vector Elman layers (cells/elman_rows.hpp) read xw.
    const bool fusable =
        cell == CellKind::kLstm || (cell == CellKind::kElman && !elman_rows_fit<T>(hidden));
    if (!pack) return nullptr;
    if (!refresh && (fusable || cell == CellKind::kGru)) return &buf.packed_hh_t;
    if (fusable) {
      buf.packed_hh_t.pack_stacked(Trans::kYes, G, input, weight_ih, input, hidden, weight_hh,
                                   hidden);
      return &buf.packed_hh_t;
    }
    if (cell == CellKind::kGru) {  // n's x W_in and h W_hn apart: 4H columns (cells/gru.hpp)
      const std::size_t in_gate = static_cast<std::size_t>(hidden) * input;
      const std::size_t hh_gate = static_cast<std::size_t>(hidden) * hidden;
      buf.packed_hh_t.pack_stacked(input, input, hidden, hidden,
                                   {{2 * hidden, weight_ih, weight_hh},
                                    {hidden, weight_ih + 2 * in_gate, nullptr},
                                    {hidden, nullptr, weight_hh + 2 * hh_gate}});
      return &buf.packed_hh_t;
    }
  }
  return nullptr;
}

template <typename T>
bool backward_takes_outer(CellKind cell, int hidden, int batch) {
  if (cell == CellKind::kElman && elman_rows_fit<T>(hidden)) return false;
  return use_packed<T>(batch, gate_count(cell) * hidden, hidden);
}

template <typename T>
const PackedMatrix<T>* prepare_backward_weights(CellKind cell, int hidden, int batch,
                                                const T* weight_hh, LayerBuffers<T>& buf,
                                                const OuterGradient<T>& outer) {
  if constexpr (sizeof(T) <= sizeof(double)) {
    const int G = gate_count(cell) * hidden;
    if (use_packed<T>(batch, G, hidden)) {
      if (outer.a != nullptr) {
        buf.packed_hh.pack_stacked(Trans::kNo, hidden, G, weight_hh, hidden, outer.width,
                                   outer.weight, outer.ldw);
      } else {
        buf.packed_hh.pack(Trans::kNo, G, hidden, weight_hh, hidden);
      }
      return &buf.packed_hh;
    }
  }
  return nullptr;
}

namespace {

// Rows [b0, b1) of the batch, the forward steps in time order: rows never meet within a
// step (each row's gates read its own row of the recurrent product), so a range of rows runs
// the whole loop on its own.
template <CellKind kCell, typename T>
void forward_loop(const LayerShape& shape, const CellWeights<T>& w, LayerBuffers<T>& buf,
                  StepScratch<T>& scratch, int b0, int b1, const T* x, int gate_parts) {
  const int H = w.hidden, B = shape.batch;
  const std::size_t G = static_cast<std::size_t>(gate_count(shape.cell)) * H;
  const std::size_t step = static_cast<std::size_t>(B) * H, row0 = b0;
  const std::size_t cache_width_h = cache_width(shape.cell, H);
  constexpr bool lstm = kCell == CellKind::kLstm;
  for (int s = 0; s < shape.seq_len; ++s) {
    const int t = shape.reverse ? shape.seq_len - 1 - s : s;
    const std::size_t out = state_index(shape.reverse, t) * step + row0 * H;
    const std::size_t prev = prev_index(shape.reverse, t) * step + row0 * H;
    const std::size_t rows = static_cast<std::size_t>(t) * B + row0;
    const ForwardStep<T> fs{b1 - b0,
                            mark_active(shape, t, b0, b1, scratch.active.data()),
                            buf.xw.data() + rows * G,
                            buf.hs.data() + prev,
                            lstm ? buf.cs.data() + prev : nullptr,
                            buf.hs.data() + out,
                            lstm ? buf.cs.data() + out : nullptr,
                            buf.cache.data() + rows * cache_width_h,
                            scratch.gates.data() + row0 * scratch_width(shape.cell, H),
                            x != nullptr ? x + rows * w.fused_input : nullptr,
                            w.fused_input};
    forward_step<kCell>(w, fs, gate_parts);
  }
}

// Rows [b0, b1), the backward steps, as forward_loop. With outer.a, each step's product adds
// the next step's outer gradient (the first step's has a product of its own), and the steps
// read zeros for dh_out.
template <CellKind kCell, typename T>
void backward_loop(const LayerShape& shape, const CellWeights<T>& w, const T* dh_out, int ld,
                   LayerBuffers<T>& buf, StepScratch<T>& scratch, int b0, int b1,
                   const OuterGradient<T>& outer, int gate_parts) {
  const int H = w.hidden, B = shape.batch, rows_b = b1 - b0;
  const int G = gate_count(shape.cell) * H;
  const std::size_t step = static_cast<std::size_t>(B) * H, row0 = b0;
  const std::size_t cache_width_h = cache_width(shape.cell, H);
  constexpr bool lstm = kCell == CellKind::kLstm, gru = kCell == CellKind::kGru;
  T* dh_next = scratch.dh_next.data() + row0 * H;
  T* dc = lstm ? scratch.dc.data() + row0 * H : nullptr;
  if (lstm) std::fill(dc, dc + static_cast<std::size_t>(rows_b) * H, T(0));
  // Step s's time (the forward loop's order, undone), and its outer gradient's rows.
  const auto time = [&](int s) { return shape.reverse ? s : shape.seq_len - 1 - s; };
  const auto outer_rows = [&](int s) {
    return outer.a + (static_cast<std::size_t>(time(s)) * B + row0) * outer.lda;
  };
  const bool fused = outer.a != nullptr;
  if constexpr (sizeof(T) <= sizeof(double)) {
    if (fused) {  // dLoss/dh of the first step: its outer gradient alone
      gemm_packed<T>(rows_b, {{nullptr, 0, G}, {outer_rows(0), outer.lda, outer.width}},
                     *w.packed_hh, T(0), dh_next, H);
    }
  }
  if (!fused) std::fill(dh_next, dh_next + static_cast<std::size_t>(rows_b) * H, T(0));
  for (int s = 0; s < shape.seq_len; ++s) {
    const int t = time(s);
    const std::size_t out = state_index(shape.reverse, t) * step + row0 * H;
    const std::size_t prev = prev_index(shape.reverse, t) * step + row0 * H;
    const std::size_t rows = static_cast<std::size_t>(t) * B + row0;
    T* dxw = buf.xw.data() + rows * G;               // xw is spent: reuse it
    T* dhw = gru ? buf.dhw.data() + rows * H : dxw;  // GRU: n's part, [B, H]
    const BackwardStep<T> bs{rows_b,
                             mark_active(shape, t, b0, b1, scratch.active.data()),
                             buf.cache.data() + rows * cache_width_h,
                             buf.hs.data() + prev,
                             lstm ? buf.cs.data() + prev : nullptr,
                             buf.hs.data() + out,
                             lstm ? buf.cs.data() + out : nullptr,
                             fused ? scratch.zeros.data() : dh_out + rows * ld,
                             fused ? 0 : ld,
                             dc,
                             dxw,
                             dhw,
                             dh_next};
    const bool direct = backward_step<kCell>(w, bs, gate_parts);
    if (s + 1 == shape.seq_len) break;  // dLoss/dh(-1): gradients stop at the initial state
    const T beta = direct ? T(1) : T(0);
    // dh(t-1) (+)= dhw W_hh (+ the outer gradient's a(t-1) W); GRU's dhw is [dxw's r and z
    // parts, dhw_n], read from both.
    const int k1 = gru ? 2 * H : G;
    if constexpr (sizeof(T) <= sizeof(double)) {
      if (w.packed_hh != nullptr) {  // W_hh (and outer's W) packed once for the whole loop
        gemm_packed<T>(rows_b,
                       {{dxw, G, k1},
                        {dhw, H, G - k1},
                        {fused ? outer_rows(s + 1) : nullptr, outer.lda, outer.width}},
                       *w.packed_hh, beta, dh_next, H);
        continue;
      }
    }
    gemm(Trans::kNo, Trans::kNo, rows_b, H, k1, T(1), dxw, G, w.weight_hh, H, beta, dh_next, H);
    if (gru) {
      gemm(Trans::kNo, Trans::kNo, rows_b, H, H, T(1), dhw, H,
           w.weight_hh + static_cast<std::size_t>(k1) * H, H, T(1), dh_next, H);
    }
  }
}

// Runs loop(b0, b1, gate_parts) over the batch's rows. Over weights of kColumnWeightBytes or
// more, once over all rows, each step split by columns and rows (column_loop_parts). Else in
// ranges of kMinSplitRows rows or more, shared so that the parts end together (`shares`,
// part_split.hpp), or over all of them when the recurrent products are not packed: loops of
// kTunedWork multiply-adds or more split as batch_parts says; smaller ones on one thread or
// on all that are free, whichever `tuner` has timed faster. Each row is computed exactly as
// the unsplit loop computes it, so results do not depend on the split.
constexpr long kTunedWork = 1L << 28;

template <typename T, typename F>
void for_batch_ranges(int batch, const PackedMatrix<T>* packed, long work, LoopTuner& tuner,
                      PartShares& shares, F&& loop) {
  const int gate_parts = column_loop_parts(batch, packed);
  if (gate_parts > 1) {  // each step's product cut by the loop's shares
    const ProductShares products(&shares);
    return loop(0, batch, gate_parts);
  }
  auto rows = [&](int, int b0, int b1) { loop(b0, b1, 1); };
  auto run = [&](int parts) { PartSplit(shares, parts, batch, kMinSplitRows).run(rows); };
  if (packed == nullptr) return run(1);
  if (work >= kTunedWork) return run(batch_parts(batch, work));
  tuner.run(work, most_batch_parts(batch), run);
}

// Multiply-adds of one loop's recurrent products.
inline long loop_work(const LayerShape& shape, int hidden) {
  return static_cast<long>(shape.seq_len) * shape.batch * gate_count(shape.cell) * hidden * hidden;
}

}  // namespace

template <typename T>
void layer_forward(const LayerShape& shape, const CellWeights<T>& w, LayerBuffers<T>& buf,
                   StepScratch<T>& scratch, const T* x) {
  if constexpr (elman_rows_fit<T>(1)) {
    if (shape.cell == CellKind::kElman && elman_rows_fit<T>(w.hidden)) {
      return for_row_groups(shape.batch,
                            [&]<int R>(int b0) { elman_rows_forward<R>(shape, w, b0, buf); });
    }
  }
  for_batch_ranges(
      shape.batch, w.packed_hh_t, loop_work(shape, w.hidden), buf.forward_tuner, buf.forward_shares,
      [&](int b0, int b1, int gate_parts) {
        switch (shape.cell) {
          case CellKind::kElman:
            return forward_loop<CellKind::kElman>(shape, w, buf, scratch, b0, b1, x, gate_parts);
          case CellKind::kLstm:
            return forward_loop<CellKind::kLstm>(shape, w, buf, scratch, b0, b1, x, gate_parts);
          case CellKind::kGru:
            return forward_loop<CellKind::kGru>(shape, w, buf, scratch, b0, b1, x, gate_parts);
        }
      });
}

template <typename T>
void layer_backward(const LayerShape& shape, const CellWeights<T>& w, const T* dh_out, int ld,
                    LayerBuffers<T>& buf, StepScratch<T>& scratch, const OuterGradient<T>& outer) {
  if (outer.a != nullptr &&
      (w.packed_hh == nullptr || !backward_takes_outer<T>(shape.cell, w.hidden, shape.batch))) {
    throw Error("layer_backward: an outer gradient for steps that are not packed");
  }
  if constexpr (elman_rows_fit<T>(1)) {
    if (shape.cell == CellKind::kElman && elman_rows_fit<T>(w.hidden)) {
      return for_row_groups(shape.batch, [&]<int R>(int b0) {
        elman_rows_backward<R>(shape, w, dh_out, ld, b0, buf);
      });
    }
  }
  for_batch_ranges(shape.batch, w.packed_hh, loop_work(shape, w.hidden), buf.backward_tuner,
                   buf.backward_shares, [&](int b0, int b1, int gate_parts) {
                     switch (shape.cell) {
                       case CellKind::kElman:
                         return backward_loop<CellKind::kElman>(shape, w, dh_out, ld, buf, scratch,
                                                                b0, b1, outer, gate_parts);
                       case CellKind::kLstm:
                         return backward_loop<CellKind::kLstm>(shape, w, dh_out, ld, buf, scratch,
                                                               b0, b1, outer, gate_parts);
                       case CellKind::kGru:
                         return backward_loop<CellKind::kGru>(shape, w, dh_out, ld, buf, scratch,
                                                              b0, b1, outer, gate_parts);
                     }
                   });
}

#define RECUR_INSTANTIATE(T)                                                                   \
  template struct LayerBuffers<T>;                                                             \
  template struct StepScratch<T>;                                                              \
  template void cell_forward<T>(CellKind, const CellWeights<T>&, const ForwardStep<T>&);       \
  template const PackedMatrix<T>* prepare_forward_weights<T>(int, int, bool, const T*,         \
                                                             LayerBuffers<T>&, bool);          \
  template bool backward_takes_outer<T>(CellKind, int, int);                                   \
  template int column_loop_parts<T>(int, const PackedMatrix<T>*);                              \
  template const PackedMatrix<T>* prepare_backward_weights<T>(                                 \
      CellKind, int, int, const T*, LayerBuffers<T>&, const OuterGradient<T>&);                \
  template void layer_forward<T>(const LayerShape&, const CellWeights<T>&, LayerBuffers<T>&,   \
                                 StepScratch<T>&, const T*);                                   \
  template const PackedMatrix<T>* prepare_fused_weights<T>(CellKind, int, int, bool, const T*, \
                                                           const T*, LayerBuffers<T>&, bool);  \
  template void layer_backward<T>(const LayerShape&, const CellWeights<T>&, const T*, int,     \
                                  LayerBuffers<T>&, StepScratch<T>&, const OuterGradient<T>&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
