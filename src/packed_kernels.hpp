// The register-tile kernels behind packed_gemm.hpp's products, and the copy of A^T they read:
// C's rows R at a time against one packed panel of op(B) (panel_kernel), a narrow last panel
// (narrow_kernel, narrow_dot_column), a range of panels (multiply_panels), and A^T copied out
// block by block (pack_a_transposed). packed_gemm.cpp, the only file that includes this, cuts
// products into blocks and parts and calls these; it is compiled with FMA contraction
// (packed_gemm.hpp), so these multiply and add in one rounding.
#pragma once

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "count_dispatch.hpp"
#include "packed_gemm.hpp"
#include "simd.hpp"

namespace recur::packed {

template <typename T>
using Vector = NativeVector<T>;

inline constexpr int kRows = kPackedRows;

// op(A) as the kernels read it: blocks of its columns stored apart (gemm_packed's ABlock),
// block s holding columns [begin[s], begin[s] + block[s].width); one block for a product of
// A as it is or A^T.
template <typename T>
struct ABlocks {
  int count = 0;
  ABlock<T> block[kMostABlocks] = {};
  int begin[kMostABlocks] = {};

  ABlocks() = default;
  ABlocks(const T* a, int lda, int k) : count(1) { block[0] = {a, lda, k}; }
  // The blocks from row i0 on: the first block's rows row_step apart (A^T: 1, or A^T copied
  // out: the block's depth), the others' lda.
  // Member by member: copied whole, the struct was read as one 64-byte load right after
  // the caller had written it field by field, which the store buffer cannot forward (a
  // stall at every kernel call, 2% of a weight gradient's time on the Zen 5 host).
  ABlocks from_row(int i0, std::size_t row_step) const {
    ABlocks out;
    out.count = count;
    for (int s = 0; s < count; ++s) {
      const ABlock<T>& in = block[s];
      const std::size_t step = s == 0 ? row_step : static_cast<std::size_t>(in.lda);
      out.block[s] = {in.a == nullptr ? nullptr : in.a + static_cast<std::size_t>(i0) * step,
                      in.lda, in.width};
      out.begin[s] = begin[s];
    }
    return out;
  }
};

// c[j] = out[j] + beta c[j] for the first `lanes` lanes of a vector (beta 0: c not read).
// (By reference: a vector passed by value to a call that is not inlined changes the
// ABI without AVX-512, which GCC warns of.)
template <typename T>
[[gnu::noinline]] void store_part(const Vector<T>& out, int lanes, T beta, T* c) {
  T values[sizeof(Vector<T>) / sizeof(T)];
  std::memcpy(values, &out, sizeof out);
  for (int j = 0; j < lanes; ++j) c[j] = beta == T(0) ? values[j] : values[j] + beta * c[j];
}

// C[i0 .. i0 + R, panel columns] = alpha * (R rows of op(A)) (the panel's k rows) + beta C,
// V vectors of accumulators per row: 2, or 1 for a last panel no wider than one vector (the
// readout of O = 16, the input weights' gradient of I = 16, the 65th column of charrnn's
// products), which then does half the multiply-adds. op(A) row r, column p is a[r * lda + p],
// or a[p * lda + r] when A is stored transposed.
// With fewer than eight chains of multiply-adds (R V) their latency is not hidden: the k terms
// are then split into S interleaved partial sums (S = 4 for one row, the streaming step's
// case, where this is 3-4 times faster), added at the end. A row's order of sums depends
// only on V, the panel's rows (below) and R, and on R only through whether it is at least 4
// (S = 1 for two vectors, 2 for one): every call of 4 rows or more sums a row alike, so
// gemm_packed may cut its rows into calls of any such sizes (kMinSplitRows).
// op(A) may come in blocks of columns stored apart (ABlocks: the fused step product [x, h_prev]
// [W_ih^T; W_hh^T], a backward step's [dxw, dy] [W_hh; W_o]), each block's terms summed on
// their own from the block's first column, none for a block of zeros. Only the panel's rows
// [first, last) are summed (PackedMatrix::panel_rows; all k but in GRU's fused product, whose
// n gate panels hold zeros in one source's rows).
// With kAhead, each row p of the panel summed also fetches ahead's row p into the cache
// (multiply_panels: the panel's own rows kAheadRows further on). A kernel of its own: as first
// written, a test of `ahead` in every kernel's loop, the large LSTM and GRU steps ran 1.7-2.3%
// slower than without fetching ahead at all (`bench/ab.py`, 5 rounds).
template <int R, int V, bool kTransA, bool kAhead, typename T>
inline void panel_kernel(int first, int last, const ABlocks<T>& a, const T* panel, T alpha, T beta,
                         T* c, int ldc, int width, const T* ahead) {
  constexpr int L = kNativeLanes<T>;
  constexpr int S = R >= 4 ? (V == 2 ? 1 : 2) : R * V >= 4 ? 2 : 4;
  // C's lines, fetched for writing while the k terms are summed: a product too large for
  // the caches (a readout or gradient over all steps, C tens of MB) otherwise waited on each
  // store's read for ownership at the end of the call.
  for (int r = 0; r < R; ++r) {
    __builtin_prefetch(c + r * ldc, 1);
    __builtin_prefetch(c + r * ldc + width - 1, 1);
  }
  Vector<T> sums[S][R][V];
  for (int s = 0; s < S; ++s) {  // register by register: `= {}` became a call to memset
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < V; ++v) sums[s][r][v] = Vector<T>{};
    }
  }
  // Row p of the panel against column q of a source.
  const auto add_row = [&](const T* src, int ld, int q, int p, Vector<T>(&acc)[R][V]) {
    Vector<T> b_p[V];
    if constexpr (kAhead) {
      __builtin_prefetch(ahead + p * 2 * L);
      if constexpr (L * sizeof(T) >= 64) {  // a row on two cache lines (AVX-512), not one
        __builtin_prefetch(ahead + p * 2 * L + L);
      }
    }
    for (int v = 0; v < V; ++v) std::memcpy(&b_p[v], panel + p * 2 * L + v * L, sizeof b_p[v]);
    for (int r = 0; r < R; ++r) {
      const T a_rp = kTransA ? src[q * ld + r] : src[r * ld + q];
      for (int v = 0; v < V; ++v) acc[r][v] += a_rp * b_p[v];
    }
  };
  // Panel rows [p0, p1) against a source whose column 0 is panel row `base`.
  const auto add_rows = [&](const T* src, int ld, int base, int p0, int p1) {
    int p = p0;
    for (; p + S <= p1; p += S) {
      for (int s = 0; s < S; ++s) add_row(src, ld, p + s - base, p + s, sums[s]);
    }
    for (; p < p1; ++p) add_row(src, ld, p - base, p, sums[0]);
  };
  for (int s = 0; s < a.count; ++s) {
    const ABlock<T>& block = a.block[s];
    const int p0 = std::max(first, a.begin[s]), p1 = std::min(last, a.begin[s] + block.width);
    if (block.a != nullptr && p0 < p1) add_rows(block.a, block.lda, a.begin[s], p0, p1);
  }
  // The sums go to C straight from their registers: a whole vector of C by a vector store, a
  // last part-vector through store_part. (Copied to an array first, as they once were, all
  // the accumulators took a trip through the stack, 32 stores and loads a call.)
  for (int r = 0; r < R; ++r) {
    T* c_row = c + r * ldc;
    for (int v = 0; v < V; ++v) {
      Vector<T> out;
      if constexpr (S == 4) {
        out = (sums[0][r][v] + sums[1][r][v]) + (sums[2][r][v] + sums[3][r][v]);
      } else if constexpr (S == 2) {
        out = sums[0][r][v] + sums[1][r][v];
      } else {
        out = sums[0][r][v];
      }
      out *= alpha;
      const int lanes = std::min(L, width - v * L);
      if (lanes == L) {
        if (beta != T(0)) {
          Vector<T> old;
          std::memcpy(&old, c_row + v * L, sizeof old);
          out += beta * old;
        }
        std::memcpy(c_row + v * L, &out, sizeof out);
      } else if (lanes > 0) {
        store_part<T>(out, lanes, beta, c_row + v * L);
      }
    }
  }
}

// The narrowest last panels, of at most kNarrowColumns columns: a panel kernel's vector of
// columns would be mostly padding (the weight gradient dG^T x of I = 65 spent a sixth of its
// time on its 65th column, the readout h W_o^T of O = 65 more than a quarter). Against A^T
// (kTransA) the sums run along A^T's R values of each k row instead, which lie side by side
// (copied or in place), R lanes of sums for each column, each over k in 4 interleaved
// parts added at the end, in an order that does not depend on R (narrow_kernel); against A
// as it is, along k, A's rows and the panel's columns (PackedMatrix::narrow_columns) a
// vector of k at a time (narrow_dot_column).
constexpr int kNarrowColumns = PackedMatrix<float>::kNarrow;

template <int R, int N, typename T>
inline void narrow_kernel(int first, int last, const T* a, int lda, const T* panel, T alpha, T beta,
                          T* c, int ldc) {
  constexpr int W = 2 * kNativeLanes<T>, S = 4;  // S partial sums: chains enough to hide latency
  constexpr int P = std::bit_ceil(static_cast<unsigned>(R));  // a k row's R values in P lanes
  typedef T Lanes __attribute__((vector_size(P * sizeof(T))));
  Lanes sums[S][N];
  for (int s = 0; s < S; ++s) {
    for (int j = 0; j < N; ++j) sums[s][j] = Lanes{};
  }
  const auto add_row = [&](int p, Lanes(&acc)[N]) {
    Lanes a_r{};
    std::memcpy(&a_r, a + static_cast<std::size_t>(p) * lda, R * sizeof(T));
    for (int j = 0; j < N; ++j) acc[j] += a_r * panel[p * W + j];
  };
  int p = first;
  for (; p + S <= last; p += S) {
    for (int s = 0; s < S; ++s) add_row(p + s, sums[s]);
  }
  for (; p < last; ++p) add_row(p, sums[0]);
  for (int j = 0; j < N; ++j) {
    const Lanes sum = alpha * ((sums[0][j] + sums[1][j]) + (sums[2][j] + sums[3][j]));
    T total[P];
    std::memcpy(total, &sum, sizeof total);
    for (int r = 0; r < R; ++r) {
      T& out = c[r * ldc + j];
      out = beta == T(0) ? total[r] : total[r] + beta * out;
    }
  }
}

// Out of line: run once a call, for a last panel, it need not grow multiply_panels.
template <typename T>
[[gnu::noinline]] void narrow_rows_kernel(int rows, int width, std::pair<int, int> range,
                                          const T* a, int lda, const T* panel, T alpha, T beta,
                                          T* c, int ldc) {
  with_count<kPackedRows>(std::min(rows, kPackedRows), [&]<int R>() {
    with_count<kNarrowColumns>(width, [&]<int N>() {
      narrow_kernel<R, N>(range.first, range.second, a, lda, panel, alpha, beta, c, ldc);
    });
  });
}

// C[0 .. R, 0] = alpha (R rows of A, a[r * lda + p]) column + beta C, for a column of k
// values: each a sum of L-lane parts over k (then its lanes in a fixed order, and the last
// k % L terms), R sums side by side.
template <int R, typename T>
inline void narrow_dot_column(int k, const T* a, int lda, const T* column, T alpha, T beta, T* c,
                              int ldc) {
  constexpr int L = kNativeLanes<T>;
  Vector<T> sums[R];
  for (int r = 0; r < R; ++r) sums[r] = Vector<T>{};
  int p = 0;
  for (; p + L <= k; p += L) {
    Vector<T> b;
    std::memcpy(&b, column + p, sizeof b);
    for (int r = 0; r < R; ++r) {
      Vector<T> a_r;
      std::memcpy(&a_r, a + static_cast<std::size_t>(r) * lda + p, sizeof a_r);
      sums[r] += a_r * b;
    }
  }
  for (int r = 0; r < R; ++r) {
    T lanes[L];
    std::memcpy(lanes, &sums[r], sizeof lanes);
    for (int width = L / 2; width > 0; width /= 2) {  // pairwise: lane i + lane i + width
      for (int i = 0; i < width; ++i) lanes[i] += lanes[i + width];
    }
    T sum = lanes[0];
    for (int q = p; q < k; ++q) sum += a[static_cast<std::size_t>(r) * lda + q] * column[q];
    sum *= alpha;
    T& out = c[r * ldc];
    out = beta == T(0) ? sum : sum + beta * out;
  }
}

// Not inlined, as narrow_rows_kernel. Column j at columns + j * k.
template <typename T>
[[gnu::noinline]] void narrow_dot_rows(int rows, int width, int k, const T* a, int lda,
                                       const T* columns, T alpha, T beta, T* c, int ldc) {
  with_count<kPackedRows>(std::min(rows, kPackedRows), [&]<int R>() {
    for (int j = 0; j < width; ++j) {
      narrow_dot_column<R>(k, a, lda, columns + static_cast<std::size_t>(j) * k, alpha, beta, c + j,
                           ldc);
    }
  });
}

template <int V, bool kTransA, typename T>
void rows_kernel(int rows, std::pair<int, int> range, const ABlocks<T>& a, const T* panel, T alpha,
                 T beta, T* c, int ldc, int width, const T* ahead = nullptr) {
  with_count<kPackedRows>(std::min(rows, kPackedRows), [&]<int R>() {
    if (ahead != nullptr) {
      panel_kernel<R, V, kTransA, true>(range.first, range.second, a, panel, alpha, beta, c, ldc,
                                        width, ahead);
    } else {
      panel_kernel<R, V, kTransA, false>(range.first, range.second, a, panel, alpha, beta, c, ldc,
                                         width, static_cast<const T*>(nullptr));
    }
  });
}

// C rows [0, m) against panels [first, last) of b, kRows rows of op(A) at a time (kEvenCalls:
// in as few calls as that takes, of sizes as even as can be, as gemm_packed cuts them), and the
// kernel reads row r, column p at a[r * lda + p] (kTransA false) or a[p * lda + r] (true). A
// as it is may come in blocks of columns (ABlocks), each block's rows its own lda apart
// (row_step unread). A^T: rows i0.. start at a + i0 * row_step, 1 in place; its block copied
// out by pack_a_transposed: row_step = depth, lda = kRows.
// kFetchAhead (the step products, gemm_packed): a packed op(B) of kFetchAheadFrom bytes or
// more (packed_gemm.hpp) is fetched ahead, the first call on each panel fetching the row
// kAheadRows past each row it sums: the panel's own, or past its end the next panel's first
// (which, in pack_stacked's blocks, may be rows the next panel does not sum); not in the
// matrix's last panel, whose rows ahead would lie past its end.
template <bool kTransA, typename T, bool kEvenCalls = false, bool kFetchAhead = false>
void multiply_panels(int m, const ABlocks<T>& a, std::size_t row_step, const PackedMatrix<T>& b,
                     T alpha, T beta, T* c, int ldc, int first = 0, int last = -1) {
  constexpr int W = PackedMatrix<T>::kPanel;
  const int k = b.rows(), n = last < 0 ? b.cols() : std::min(b.cols(), last * W);
  const int calls = (m + kRows - 1) / kRows;
  const bool fetch_ahead =
      kFetchAhead && k >= kAheadRows &&
      static_cast<std::size_t>(b.panels()) * k * W * sizeof(T) >= kFetchAheadFrom;
  for (int j0 = first * W, jp = first; j0 < n; j0 += W, ++jp) {
    const int width = std::min(W, n - j0);
    // A narrow last panel against A as it is, all its rows, one block of values: along k
    const bool dot = !kTransA && width <= kNarrowColumns && a.count == 1 &&
                     a.block[0].a != nullptr && b.panel_rows(jp) == std::pair<int, int>(0, k);
    for (int call = 0, i0 = 0, i1 = 0; call < calls; ++call, i0 = i1) {
      i1 = kEvenCalls ? static_cast<int>(static_cast<long>(m) * (call + 1) / calls)
                      : std::min(m, i0 + kRows);
      const int rows = i1 - i0;
      const ABlocks<T> a_rows = a.from_row(i0, kTransA ? row_step : a.block[0].lda);
      const T* a0 = a_rows.block[0].a;
      const int lda = a_rows.block[0].lda;
      T* c_rows = c + static_cast<std::size_t>(i0) * ldc + j0;
      if (dot) {
        narrow_dot_rows(rows, width, k, a0, lda, b.narrow_columns(), alpha, beta, c_rows, ldc);
      } else if (kTransA && width <= kNarrowColumns) {
        narrow_rows_kernel(rows, width, b.panel_rows(jp), a0, lda, b.panel(jp), alpha, beta, c_rows,
                           ldc);
      } else if (width <= W / 2) {
        rows_kernel<1, kTransA>(rows, b.panel_rows(jp), a_rows, b.panel(jp), alpha, beta, c_rows,
                                ldc, width);
      } else {
        const bool ahead = fetch_ahead && call == 0 && jp + 1 < b.panels();
        rows_kernel<2, kTransA>(rows, b.panel_rows(jp), a_rows, b.panel(jp), alpha, beta, c_rows,
                                ldc, width, ahead ? b.panel(jp) + kAheadRows * W : nullptr);
      }
    }
  }
}

// A^T's block of `height` rows of op(A) and `depth` columns (at a, already offset to the
// block) copied out in groups of kRows rows, each group's `depth` columns one after the other
// with its rows' values side by side (out[(g * depth + p) * kRows + r]), as the transposed
// kernel reads them. Read in place, A^T's rows lie lda apart: at the weight gradients' sizes
// (lda = 4096 floats) every p of a kernel call fell into the same L1 set, and the product ran
// 20% slower than the same product untransposed. (A stored as it is needs no copy: its kRows
// rows stream side by side, and copying them cost more than it saved.)
// The copy goes kCopyRows rows of A at a time, each group's part of them written at once: its
// destinations are whole cache lines one after the other. Row by row, each row's kRows values
// for group g went depth * kRows values past group g - 1's (16 KB at a depth of 512 floats),
// all into one L1 set, more lines than its ways; the lines were evicted half written, and the
// copy took 5% of the medium LSTM's step.
template <typename T>
void pack_a_transposed(int height, int depth, const T* a, int lda, T* out, T* sums) {
  constexpr int kCopyRows = 8;  // 8 rows lda apart: within L1's 12 ways however lda aliases
  // With sums: sums[i] += A^T's values [i, p] for the block's p in order, as they are copied
  const auto add_to_sums = [&](int p0, int p1, int i0, int width) {
    for (int p = p0; p < p1; ++p) {
      const T* row = a + static_cast<std::size_t>(p) * lda + i0;
      for (int r = 0; r < width; ++r) sums[i0 + r] += row[r];
    }
  };
  for (int p0 = 0; p0 < depth; p0 += kCopyRows) {
    const int p1 = std::min(depth, p0 + kCopyRows);
    int i0 = 0;
    for (; i0 + kRows <= height; i0 += kRows) {  // a fixed size: one vector move, no call
      T* group = out + static_cast<std::size_t>(i0) * depth;
      for (int p = p0; p < p1; ++p) {
        std::memcpy(group + p * kRows, a + static_cast<std::size_t>(p) * lda + i0,
                    kRows * sizeof(T));
      }
      if (sums != nullptr) add_to_sums(p0, p1, i0, kRows);
    }
    if (i0 < height) {
      T* group = out + static_cast<std::size_t>(i0) * depth;
      for (int p = p0; p < p1; ++p) {
        std::memcpy(group + p * kRows, a + static_cast<std::size_t>(p) * lda + i0,
                    (height - i0) * sizeof(T));
      }
      if (sums != nullptr) add_to_sums(p0, p1, i0, height - i0);
    }
  }
}

}  // namespace recur::packed
