#include "packed_gemm.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "count_dispatch.hpp"
#include "lines_ahead.hpp"
#include "recur/error.hpp"
#include "thread_pool.hpp"

namespace recur {

namespace {

template <typename T>
using Vector = NativeVector<T>;

constexpr int kRows = kPackedRows;

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
  ABlocks from_row(int i0, std::size_t row_step) const {
    ABlocks out = *this;
    for (int s = 0; s < count; ++s) {
      if (out.block[s].a == nullptr) continue;
      out.block[s].a += static_cast<std::size_t>(i0) * (s == 0 ? row_step : block[s].lda);
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
template <int R, int V, bool kTransA, typename T>
inline void panel_kernel(int first, int last, const ABlocks<T>& a, const T* panel, T alpha, T beta,
                         T* c, int ldc, int width) {
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
                 T beta, T* c, int ldc, int width) {
  with_count<kPackedRows>(std::min(rows, kPackedRows), [&]<int R>() {
    panel_kernel<R, V, kTransA>(range.first, range.second, a, panel, alpha, beta, c, ldc, width);
  });
}

// C rows [0, m) against panels [first, last) of b, kRows rows of op(A) at a time (kEvenCalls:
// in as few calls as that takes, of sizes as even as can be, as gemm_packed cuts them), and the
// kernel reads row r, column p at a[r * lda + p] (kTransA false) or a[p * lda + r] (true). A
// as it is may come in blocks of columns (ABlocks), each block's rows its own lda apart
// (row_step unread). A^T: rows i0.. start at a + i0 * row_step, 1 in place; its block copied
// out by pack_a_transposed: row_step = depth, lda = kRows. Before each kernel call, the
// next lines of `ahead` (if any) are fetched.
template <bool kTransA, typename T, bool kEvenCalls = false>
void multiply_panels(int m, const ABlocks<T>& a, std::size_t row_step, const PackedMatrix<T>& b,
                     T alpha, T beta, T* c, int ldc, int first = 0, int last = -1,
                     LinesAhead* ahead = nullptr) {
  constexpr int W = PackedMatrix<T>::kPanel;
  const int k = b.rows(), n = last < 0 ? b.cols() : std::min(b.cols(), last * W);
  const int calls = (m + kRows - 1) / kRows;
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
      if (ahead != nullptr) ahead->issue();
      if (dot) {
        narrow_dot_rows(rows, width, k, a0, lda, b.narrow_columns(), alpha, beta, c_rows, ldc);
      } else if (kTransA && width <= kNarrowColumns) {
        narrow_rows_kernel(rows, width, b.panel_rows(jp), a0, lda, b.panel(jp), alpha, beta, c_rows,
                           ldc);
      } else if (width <= W / 2) {
        rows_kernel<1, kTransA>(rows, b.panel_rows(jp), a_rows, b.panel(jp), alpha, beta, c_rows,
                                ldc, width);
      } else {
        rows_kernel<2, kTransA>(rows, b.panel_rows(jp), a_rows, b.panel(jp), alpha, beta, c_rows,
                                ldc, width);
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
// for group g went depth * kRows values past group g - 1's (8 KB at a depth of 256 floats),
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

// Threads for a product of m * n * k multiply-adds split over `panels` panels (or groups of
// kRows rows): one per 2M multiply-adds (about 10 us; below that, waking a sleeping worker
// costs more than it saves on the small workload), or per 256K while the workers still spin
// from the last job (workers_awake), when handing them a part costs about a microsecond: the
// small steps' readout, input projection and input weights' gradient (0.8-3.3M) then split
// too, and the small Elman step was 16% faster, GRU 9%, LSTM 6% (flat from 32K to 256K);
// and at least two panels each; at least 1.
// Within a SplitSmallProducts, one per 16K whether the workers are awake or not.
thread_local bool split_small_products = false;

int parts_for(long work, int panels) {
  constexpr long kAwakeWork = 1L << 18, kSplitSmallWork = 1L << 14;
  const long awake_work = split_small_products ? kSplitSmallWork : kAwakeWork;
  if (work < 2 * awake_work) return 1;  // without reading the clock (workers_awake)
  const long work_per_thread = split_small_products || workers_awake() ? awake_work : 1L << 21;
  return static_cast<int>(
      std::max<long>(1, std::min<long>({free_threads(), work / work_per_thread, panels / 2})));
}

// Panels [first, last) of `panels` for part `part` of `parts`.
inline int split(int panels, int parts, int part) {
  return static_cast<int>(static_cast<long>(panels) * part / parts);
}

// How gemm_blocked_columns reads A: as it is, transposed in place, or transposed with each
// block copied out first (pack_a_transposed), as copies_transposed_a decides.
enum class ATranspose { kNo, kInPlace, kCopied };

// Whether A^T, stored [k, m] with rows lda apart, is copied block by block: when its rows lie
// a multiple of 2 KB apart, for two panels of B or more. Read in place, a kernel call takes
// 8 values of each of its k rows; rows a multiple of 2 KB apart fall into at most 2 of L1's
// 64 sets (4 KB a way, on Zen 4 and 5 and on the Intel host alike), so the line holding a
// row's next 8 values is gone when the next call wants it. The input weights' gradients
// dW_ih = dG^T x, of 2-3 panels (I = 64, 65) and lda = G: with the copy, the medium LSTM's
// (lda 1024 floats) ran 1.48x as fast, charrnn's LSTM (2048) 1.56x and GRU (1536) 1.31x,
// charrnn's Elman (512) 1.06x; at lda 256 (medium Elman, the small LSTM) it was 0.83x and
// 0.40x, at 768 (medium GRU) 0.97x (bench/gemm_backends, one thread, Intel host); in double
// 1.66-1.89x for the medium and charrnn LSTM and GRU. A single panel reads each value once,
// and the copy is then all cost: the small LSTM's in double (lda 2 KB) 0.52x.
// Rows that do not alias need no copy at any width: on the Zen 5 host, at 8 panels (the
// recurrent weights' gradients dW_hh = dG^T h_prev of H = 256), in place was 1.08x as fast
// at lda 768 (medium GRU) and 1.10x at 256 (medium Elman), one thread, the two alternated in
// one process. (The copy had been made from 8 panels on for any lda, measured where lda
// aliased: the large LSTM's 4096, where it made the product 20% faster.)
template <typename T>
bool copies_transposed_a(int panels, int lda) {
  return panels >= 2 && (static_cast<long>(lda) * sizeof(T)) % 2048 == 0;
}

// Blocks of kDepth rows of op(B) (a panel's block then fits in L1) and kHeight rows of C
// (their op(A) block in L2), whole groups of kRows: a block's edge inside a group would change
// the kernel calls, and so the sums, of the rows around it with where the product starts (a
// part of a split product, or a product sharing its A with a second). 64 rows (60 with AVX2's
// groups of 6) rather than 128 (session 18, Zen 4, the same values bit for bit): the charrnn
// Elman pair alone 1.03x, and bench/ab.py, 5-7 rounds, charrnn Elman 1.012x (6 of 7), GRU
// 1.006x (6 of 7), LSTM 1.003x, the medium LSTM 1.005x, large LSTM 1.009x, small LSTM 1.026x
// (5 of 5), the medium Elman and GRU and small GRU 0.996-0.999x; 256 rows: the pair alone
// 0.95x.
constexpr int kDepth = 256, kHeight = 64 / kRows * kRows;
static_assert(kHeight >= kRows && kHeight % kRows == 0);

// One product's op(B) and C for gemm_blocked_columns, which may serve two that share A.
template <typename T>
struct BlockedOutput {
  int n;
  const T* b;
  int ldb;
  T* c;
  int ldc;
};

// One part's packing buffers for gemm_blocked_columns: op(B)'s block for each product, and
// A^T's when copied; and the lines of the next block to fetch.
template <typename T>
struct BlockBuffers {
  std::array<PackedMatrix<T>, 2> b;
  std::vector<T> a;
  LinesAhead ahead;

  // Room for the blocks of an m x n x k product (and of a second of n2 columns sharing its
  // A): then no part of it, however split, allocates.
  void reserve(ATranspose ta, int m, int n, int k, int n2 = 0) {
    b[0].reserve(std::min(kDepth, k), n);
    if (n2 > 0) b[1].reserve(std::min(kDepth, k), n2);
    const std::size_t a_block =
        static_cast<std::size_t>(std::min(kHeight, m) + kRows - 1) / kRows * kRows * kDepth;
    if (ta == ATranspose::kCopied && a.size() < a_block) a.resize(a_block);
  }
};

// While block [p0, p0 + depth) of a product of A^T and B as they are stored (the weight
// gradients over all steps) is multiplied, the rows of op(B) and of A^T from p0 + depth on,
// which the next block packs and reads, are fetched into L2, spread over the block's kernel
// calls (LinesAhead): for a product whose sources are larger than L2 (smaller ones are likely
// in it already; the small GRU step had run 0.96x as fast with them fetched too), when the
// next block's rows fit in L2 (1 MB a core on Zen 4 and 5) beside this block's packed op(B)
// (the packed A^T block and C left out of the count). bench/ab.py, 11 rounds, Zen 4: medium
// Elman 1.026x (faster in 10 of 11 rounds), GRU 1.024x (11 of 11; both their dW_o = dy^T h and
// their pair dG^T [x, h]), charrnn Elman 0.994x (its dW_o only: its pairs fill L2), 7 rounds:
// the medium LSTM, charrnn GRU and LSTM, small Elman and LSTM 1.000-1.008x. Fetching without
// the L2 limit made the charrnn Elman and medium LSTM steps 0.99x. Alone, on warm data from L3
// (a loop of calls), the products gain less or lose: one thread, dW_o of the medium sizes
// 1.02-1.09x, two threads 0.96x. Products of A as it is span more than one depth block only at
// the large size (the readout over H = 1024), not measured.
constexpr long kL2Bytes = 1L << 20;

template <typename T>
void fetch_next_block(ATranspose ta, bool tb, int m, int k, int p0, int depth, const T* a, int lda,
                      const BlockedOutput<T>* outputs, int count, BlockBuffers<T>& buffers) {
  LinesAhead& ahead = buffers.ahead;
  ahead.clear();
  const int next = std::min(kDepth, k - p0 - depth);
  if (ta == ATranspose::kNo || tb || next <= 0) return;
  long sources = static_cast<long>(m);  // this part's sources (its rows or columns), in values
  for (int o = 0; o < count; ++o) sources += outputs[o].n;
  if (sources * k * static_cast<long>(sizeof(T)) <= kL2Bytes) return;
  long packed = 0, calls = 0;  // lines of this block's packed op(B); its kernel calls
  for (int o = 0; o < count; ++o) {
    const BlockedOutput<T>& out = outputs[o];
    ahead.add(out.b + static_cast<std::size_t>(p0 + depth) * out.ldb, out.ldb * sizeof(T),
              out.n * sizeof(T), next);
    const PackedMatrix<T>& block = buffers.b[o];
    packed += static_cast<long>(block.panels()) * PackedMatrix<T>::kPanel * block.rows() *
              static_cast<long>(sizeof(T)) / LinesAhead::kLine;
    calls += static_cast<long>(block.panels()) * ((m + kRows - 1) / kRows);
  }
  ahead.add(a + static_cast<std::size_t>(p0 + depth) * lda, lda * sizeof(T), m * sizeof(T), next);
  if ((ahead.lines() + packed) * LinesAhead::kLine > kL2Bytes) return ahead.clear();
  ahead.spread_over(calls);
}

// Each part's buffers, the calling thread's, with room for the whole product (and a second of
// n2 columns sharing its A) and for as many parts as there are free threads: whether a
// product splits, and how, depends on timing (workers_awake), and no later call of a size
// may allocate because of it. (Parts reach them through the reference returned: a lambda
// naming a thread_local itself would, on a worker, get the worker's own.)
template <typename T>
std::vector<BlockBuffers<T>>& callers_buffers(ATranspose ta, int m, int n, int k, int n2 = 0) {
  thread_local std::vector<BlockBuffers<T>> buffers;
  const std::size_t most = static_cast<std::size_t>(std::max(1, free_threads()));
  if (buffers.size() < most) buffers.resize(most);
  for (std::size_t t = 0; t < most; ++t) buffers[t].reserve(ta, m, n, k, n2);
  return buffers;
}

// C = alpha op(A) op(B) + beta C for each of `count` (1 or 2) outputs' op(B) and C, on the
// calling thread: A's block (copied once, when copied) serves them all.
// With a_sums (A^T copied or in place), a_sums[i] += the sum over p of op(A)[i, p], block by
// block as the product reads them.
template <typename T>
void gemm_blocked_columns(ATranspose ta, bool tb, int m, int k, T alpha, const T* a, int lda,
                          T beta, const BlockedOutput<T>* outputs, int count,
                          BlockBuffers<T>& buffers, T* a_sums = nullptr);

template <typename T>
void gemm_blocked_columns(ATranspose ta, bool tb, int m, int n, int k, T alpha, const T* a, int lda,
                          const T* b, int ldb, T beta, T* c, int ldc, BlockBuffers<T>& buffers) {
  const BlockedOutput<T> output{n, b, ldb, c, ldc};
  gemm_blocked_columns(ta, tb, m, k, alpha, a, lda, beta, &output, 1, buffers);
}

}  // namespace

SplitSmallProducts::SplitSmallProducts(bool on) : saved_(split_small_products) {
  split_small_products = on;
}

SplitSmallProducts::~SplitSmallProducts() {
  split_small_products = saved_;
}

template <typename T>
int PackedMatrix<T>::split_panels(int parts, int part) const {
  const int panels = this->panels();
  if (rows_.empty() || part <= 0 || part >= parts) return split(panels, parts, part);
  long total = 0;
  for (int j = 0; j < panels; ++j) total += rows_[2 * j + 1] - rows_[2 * j];
  const long target = total * part / parts;
  long sum = 0;
  int j = 0;
  for (; j < panels && 2 * sum + rows_[2 * j + 1] - rows_[2 * j] <= 2 * target; ++j) {
    sum += rows_[2 * j + 1] - rows_[2 * j];  // panel j goes before the cut while its middle does
  }
  return j;
}

template <typename T>
void PackedMatrix<T>::pack(Trans trans, int k, int n, const T* b, int ldb) {
  resize(k, n);
  rows_.clear();
  pack_rows(trans, 0, k, b, ldb);
  copy_narrow_columns();
}

template <typename T>
void PackedMatrix<T>::pack_stacked(Trans trans, int n, int k1, const T* b1, int ldb1, int k2,
                                   const T* b2, int ldb2) {
  resize(k1 + k2, n);
  rows_.clear();
  pack_rows(trans, 0, k1, b1, ldb1);
  pack_rows(trans, k1, k2, b2, ldb2);
  copy_narrow_columns();
}

template <typename T>
void PackedMatrix<T>::pack_stacked(int k1, int ldb1, int k2, int ldb2,
                                   std::initializer_list<Block> blocks) {
  int n = 0;
  for (const Block& block : blocks) n += block.width;
  resize(k1 + k2, n);
  const int panels = (n + kPanel - 1) / kPanel;
  rows_.assign(2 * static_cast<std::size_t>(panels), k1);  // [k1, k1): no rows, until a column
  std::fill(data_.begin(), data_.begin() + static_cast<std::size_t>(panels) * k_ * kPanel, T(0));
  int j = 0;
  for (const Block& block : blocks) {  // once per sequence: a value at a time
    for (int c = 0; c < block.width; ++c, ++j) {
      const int jp = j / kPanel;
      T* out = data_.data() + static_cast<std::size_t>(jp) * k_ * kPanel + j % kPanel;
      if (block.b1 != nullptr) {
        const T* row = block.b1 + static_cast<std::size_t>(c) * ldb1;
        for (int p = 0; p < k1; ++p) out[p * kPanel] = row[p];
        rows_[2 * jp] = 0;
      }
      if (block.b2 != nullptr) {
        const T* row = block.b2 + static_cast<std::size_t>(c) * ldb2;
        for (int p = 0; p < k2; ++p) out[(k1 + p) * kPanel] = row[p];
        rows_[2 * jp + 1] = k_;
      }
    }
  }
  copy_narrow_columns();
}

template <typename T>
void PackedMatrix<T>::resize(int k, int n) {
  k_ = k;
  n_ = n;
  reserve(k, n);
}

template <typename T>
void PackedMatrix<T>::reserve(int k, int n) {
  const std::size_t size = static_cast<std::size_t>((n + kPanel - 1) / kPanel) * k * kPanel;
  if (data_.size() < size) data_.resize(size);
  const std::size_t narrow = static_cast<std::size_t>(narrow_width(n)) * k;
  if (narrow_.size() < narrow) narrow_.resize(narrow);
}

template <typename T>
int PackedMatrix<T>::narrow_width(int n) const {
  const int width = n % kPanel;
  return width <= kNarrow ? width : 0;
}

template <typename T>
void PackedMatrix<T>::copy_narrow_columns() {
  const int width = narrow_width(n_);
  if (width == 0) return;
  const T* last = panel(n_ / kPanel);
  for (int j = 0; j < width; ++j) {
    for (int p = 0; p < k_; ++p)
      narrow_[static_cast<std::size_t>(j) * k_ + p] = last[p * kPanel + j];
  }
}

template <typename T>
void PackedMatrix<T>::pack_rows(Trans trans, int row0, int k, const T* b, int ldb) {
  const int panels = this->panels(), whole = n_ / kPanel, tail = n_ - whole * kPanel;
  const std::size_t panel_size = static_cast<std::size_t>(k_) * kPanel;
  T* const out0 = data_.data() + static_cast<std::size_t>(row0) * kPanel;
  if (trans == Trans::kNo) {
    // op(B)'s rows are B's: each row read once, front to back, its slices sent to their
    // panels. Panel by panel instead, each panel's pass read a slice of every row, a
    // row's lines on as many passes as there are panels: the readout's dW_o = dy^T h
    // (64 x 256 x 6400), which packs all of h for 64 rows of C, spent a third of its time
    // packing, and ran at 80 GFLOP/s this way against 65 (one thread, Zen 4).
    for (int p = 0; p < k; ++p) {
      const T* row = b + static_cast<std::size_t>(p) * ldb;
      T* out = out0 + static_cast<std::size_t>(p) * kPanel;
      for (int jp = 0; jp < whole; ++jp) {  // a fixed size: vector moves, not a library call
        std::memcpy(out + jp * panel_size, row + jp * kPanel, kPanel * sizeof(T));
      }
      if (tail > 0) {  // the last panel, narrower: padded with zeros
        T* last = out + whole * panel_size;
        std::copy(row + whole * kPanel, row + n_, last);
        std::fill(last + tail, last + kPanel, T(0));
      }
    }
    return;
  }
  for (int jp = 0; jp < panels; ++jp) {  // op(B)'s columns are B's rows: each read once
    T* out = out0 + jp * panel_size;
    const int j0 = jp * kPanel, width = std::min(kPanel, n_ - j0);
    for (int j = 0; j < width; ++j) {
      const T* column = b + static_cast<std::size_t>(j0 + j) * ldb;
      for (int p = 0; p < k; ++p) out[p * kPanel + j] = column[p];
    }
    for (int p = 0; width < kPanel && p < k; ++p) {
      std::fill(out + p * kPanel + width, out + (p + 1) * kPanel, T(0));
    }
  }
}

namespace {

template <typename T>
void gemm_packed_blocks(int m, const ABlocks<T>& a, const PackedMatrix<T>& b, T beta, T* c,
                        int ldc) {
  const int panels = (b.cols() + PackedMatrix<T>::kPanel - 1) / PackedMatrix<T>::kPanel;
  const int parts = parts_for(static_cast<long>(m) * b.cols() * b.rows(), panels);
  auto part = [&](int t) {
    multiply_panels<false, T, true>(m, a, 0, b, T(1), beta, c, ldc, b.split_panels(parts, t),
                                    b.split_panels(parts, t + 1));
  };
  parallel_for_parts(parts, part);
}

}  // namespace

template <typename T>
void gemm_packed(int m, const T* a, int lda, const PackedMatrix<T>& b, T beta, T* c, int ldc) {
  gemm_packed_blocks(m, ABlocks<T>(a, lda, b.rows()), b, beta, c, ldc);
}

template <typename T>
void gemm_packed(int m, std::initializer_list<ABlock<T>> a, const PackedMatrix<T>& b, T beta, T* c,
                 int ldc) {
  if (a.size() > static_cast<std::size_t>(kMostABlocks)) {
    throw Error("gemm_packed: more than " + std::to_string(kMostABlocks) + " blocks of A");
  }
  ABlocks<T> blocks;
  int k = 0;
  for (const ABlock<T>& block : a) {
    if (block.width == 0) continue;  // so that one block of columns is one, for the dot path
    blocks.begin[blocks.count] = k;
    blocks.block[blocks.count++] = block;
    k += block.width;
  }
  if (k != b.rows()) {
    throw Error("gemm_packed: A's blocks have " + std::to_string(k) + " columns, B " +
                std::to_string(b.rows()) + " rows");
  }
  gemm_packed_blocks(m, blocks, b, beta, c, ldc);
}

namespace {

// Rows for more threads only from 32M multiply-adds, unless the pool's workers are awake: a
// product that columns leave on one thread is often the only threaded work around (the small
// workloads' weight gradients), and waking a sleeping worker for it (tens of us on this VM)
// cost more than it saved. Right after a time loop split by rows the workers are still
// spinning, and the small LSTM's and GRU's weight gradients split by rows made their training
// steps 10% faster.
constexpr long kRowSplitWork = 1L << 25;
bool rows_split_pays(long work) {
  return work >= kRowSplitWork || workers_awake();
}

}  // namespace

template <typename T>
void gemm_blocked(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                  const T* b, int ldb, T beta, T* c, int ldc) {
  // Columns split among threads, each running the whole blocked product on its own; or rows,
  // where that gives more threads (a product of few columns: a readout of a small O, the
  // input's weight gradient of a small I, which the columns left on one thread), or as many
  // with A^T copied out, so that each thread copies only its own rows of A^T (the costly
  // copy) while all copy B's blocks.
  constexpr int W = PackedMatrix<T>::kPanel;
  const bool ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  const int panels = (n + W - 1) / W, groups = (m + kRows - 1) / kRows;
  const long work = static_cast<long>(m) * n * k;
  const ATranspose a_mode = !ta                                   ? ATranspose::kNo
                            : copies_transposed_a<T>(panels, lda) ? ATranspose::kCopied
                                                                  : ATranspose::kInPlace;
  const int column_parts = parts_for(work, panels), row_parts = parts_for(work, groups);
  std::vector<BlockBuffers<T>>& buffers = callers_buffers<T>(a_mode, m, n, k);
  if ((row_parts > column_parts && rows_split_pays(work)) ||
      (a_mode == ATranspose::kCopied && row_parts >= column_parts)) {
    auto part = [&](int t) {
      const int i0 = split(groups, row_parts, t) * kRows;
      const int i1 = std::min(m, split(groups, row_parts, t + 1) * kRows);
      if (i0 >= i1) return;
      gemm_blocked_columns(a_mode, tb, i1 - i0, n, k, alpha,
                           ta ? a + i0 : a + static_cast<std::size_t>(i0) * lda, lda, b, ldb, beta,
                           c + static_cast<std::size_t>(i0) * ldc, ldc, buffers[t]);
    };
    return parallel_for_parts(row_parts, part);
  }
  auto part = [&](int t) {
    const int j0 = split(panels, column_parts, t) * W;
    const int j1 = std::min(n, split(panels, column_parts, t + 1) * W);
    if (j0 >= j1) return;
    gemm_blocked_columns(a_mode, tb, m, j1 - j0, k, alpha, a, lda,
                         tb ? b + static_cast<std::size_t>(j0) * ldb : b + j0, ldb, beta, c + j0,
                         ldc, buffers[t]);
  };
  parallel_for_parts(column_parts, part);
}

template <typename T>
void gemm_blocked_tn_pair(int m, int k, const T* a, int lda, int n1, const T* b1, int ldb1, T* c1,
                          int ldc1, int n2, const T* b2, int ldb2, T* c2, int ldc2, T* sums) {
  constexpr int W = PackedMatrix<T>::kPanel;
  const int panels = (n1 + W - 1) / W + (n2 + W - 1) / W, groups = (m + kRows - 1) / kRows;
  const ATranspose mode =
      copies_transposed_a<T>(panels, lda) ? ATranspose::kCopied : ATranspose::kInPlace;
  const long work = static_cast<long>(m) * (n1 + n2) * k;
  if (mode == ATranspose::kInPlace && !rows_split_pays(work)) {
    // Where gemm_blocked would not split by rows either: each product as it splits alone
    // (by columns, or not at all), the same values bit for bit.
    gemm_blocked(Trans::kYes, Trans::kNo, m, n1, k, T(1), a, lda, b1, ldb1, T(0), c1, ldc1);
    gemm_blocked(Trans::kYes, Trans::kNo, m, n2, k, T(1), a, lda, b2, ldb2, T(0), c2, ldc2);
    if (sums != nullptr) column_sums(k, m, a, lda, sums);
    return;
  }
  // Rows split among threads, as gemm_blocked splits a product whose A^T is copied (or one
  // read in place where rows_split_pays): each thread reads or copies only its own rows of
  // A^T, once for both products and the sums.
  const int parts = parts_for(work, groups);
  std::vector<BlockBuffers<T>>& buffers = callers_buffers<T>(mode, m, n1, k, n2);
  auto part = [&](int t) {
    const int i0 = split(groups, parts, t) * kRows;
    const int i1 = std::min(m, split(groups, parts, t + 1) * kRows);
    if (i0 >= i1) return;
    if (sums != nullptr) std::fill(sums + i0, sums + i1, T(0));
    const BlockedOutput<T> outputs[2] = {
        {n1, b1, ldb1, c1 + static_cast<std::size_t>(i0) * ldc1, ldc1},
        {n2, b2, ldb2, c2 + static_cast<std::size_t>(i0) * ldc2, ldc2}};
    gemm_blocked_columns(mode, false, i1 - i0, k, T(1), a + i0, lda, T(0), outputs, 2, buffers[t],
                         sums != nullptr ? sums + i0 : nullptr);
  };
  parallel_for_parts(parts, part);
}

namespace {

template <typename T>
void gemm_blocked_columns(ATranspose ta, bool tb, int m, int k, T alpha, const T* a, int lda,
                          T beta, const BlockedOutput<T>* outputs, int count,
                          BlockBuffers<T>& buffers, T* a_sums) {
  const Trans trans_b = tb ? Trans::kYes : Trans::kNo;
  std::vector<T>& packed_a = buffers.a;  // room made by BlockBuffers::reserve
  if (k == 0) {                          // C = beta C
    for (int o = 0; o < count; ++o) {
      const BlockedOutput<T>& out = outputs[o];
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < out.n; ++j) {
          T& v = out.c[static_cast<std::size_t>(i) * out.ldc + j];
          v = beta == T(0) ? T(0) : beta * v;
        }
      }
    }
    return;
  }
  for (int p0 = 0; p0 < k; p0 += kDepth) {
    const int depth = std::min(kDepth, k - p0);
    for (int o = 0; o < count; ++o) {
      const BlockedOutput<T>& out = outputs[o];
      buffers.b[o].pack(trans_b, depth, out.n,
                        tb ? out.b + p0 : out.b + static_cast<std::size_t>(p0) * out.ldb, out.ldb);
    }
    const T block_beta = p0 == 0 ? beta : T(1);  // later blocks add to what the first wrote
    fetch_next_block(ta, tb, m, k, p0, depth, a, lda, outputs, count, buffers);
    for (int i0 = 0; i0 < m; i0 += kHeight) {
      const int height = std::min(kHeight, m - i0);
      if (ta == ATranspose::kCopied) {
        pack_a_transposed(height, depth, a + static_cast<std::size_t>(p0) * lda + i0, lda,
                          packed_a.data(), a_sums != nullptr ? a_sums + i0 : nullptr);
      } else if (ta == ATranspose::kInPlace && a_sums != nullptr) {  // while it is in cache
        add_block_to_sums(depth, lda, a + static_cast<std::size_t>(p0) * lda, i0, height,
                          a_sums + i0);
      }
      for (int o = 0; o < count; ++o) {
        const PackedMatrix<T>& packed = buffers.b[o];
        T* c_block = outputs[o].c + static_cast<std::size_t>(i0) * outputs[o].ldc;
        const int ldc = outputs[o].ldc;
        if (ta == ATranspose::kCopied) {
          multiply_panels<true>(height, ABlocks<T>(packed_a.data(), kRows, depth), depth, packed,
                                alpha, block_beta, c_block, ldc, 0, -1, &buffers.ahead);
        } else if (ta == ATranspose::kInPlace) {
          multiply_panels<true>(height,
                                ABlocks<T>(a + static_cast<std::size_t>(p0) * lda + i0, lda, depth),
                                1, packed, alpha, block_beta, c_block, ldc, 0, -1, &buffers.ahead);
        } else {
          multiply_panels<false>(
              height, ABlocks<T>(a + static_cast<std::size_t>(i0) * lda + p0, lda, depth), lda,
              packed, alpha, block_beta, c_block, ldc, 0, -1, &buffers.ahead);
        }
      }
    }
  }
}

}  // namespace

#define RECUR_INSTANTIATE(T)                                                                       \
  template class PackedMatrix<T>;                                                                  \
  template void gemm_packed<T>(int, const T*, int, const PackedMatrix<T>&, T, T*, int);            \
  template void gemm_packed<T>(int, std::initializer_list<ABlock<T>>, const PackedMatrix<T>&, T,   \
                               T*, int);                                                           \
  template void gemm_blocked<T>(Trans, Trans, int, int, int, T, const T*, int, const T*, int, T,   \
                                T*, int);                                                          \
  template void gemm_blocked_tn_pair<T>(int, int, const T*, int, int, const T*, int, T*, int, int, \
                                        const T*, int, T*, int, T*);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
#undef RECUR_INSTANTIATE

}  // namespace recur
