// The recurrent product with its weights packed once per sequence: C = A op(B) + beta C where
// op(B) [k, n] is fixed for a whole time loop (W_hh^T forward, W_hh backward) and A is one
// step's [m, k] state. Packing lays op(B) out in panels of kPanel columns, each panel's k rows
// contiguous, so that the kernel streams it with aligned vector loads while a block of A's
// rows is broadcast against it; nothing is allocated per product. The kernel file is compiled
// with FMA contraction (one rounding per multiply-add), unlike the rest of recur: it serves
// only products too large for the small loop of gemm.hpp, which the seed's sizes never reach.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <utility>
#include <vector>

#include "gemm.hpp"
#include "part_split.hpp"
#include "recur/cache_aligned.hpp"
#include "simd.hpp"

namespace recur {

// Rows of A per kernel call: as many as leave room in the target's registers for their two
// vectors of sums each, the panel row's two vectors and a broadcast (8 rows with AVX-512's 32
// registers, 6 with AVX2's 16). The kernel sums a row's k terms in an order that depends only
// on whether its call has fewer than 4 rows (how many fewer) or not, and gemm_blocked's calls
// take rows 0-7, 8-15, ... (0-5, 6-11, ...): a product over whole groups of rows of a larger A
// gives those rows exactly as the whole product does.
constexpr int kPackedRows = kNativeRegisters >= 32 ? 8 : 6;

// The products over all steps (gemm_blocked) take op(B) in blocks of this many of its rows,
// k terms of each sum at a time, each block's sums added to C's: a kernel call then sums
// 512 terms of a row, and its fixed costs (C's loads and stores, the call) are shared by
// twice as many as at 256. A panel's block (64 KB in float with AVX-512) no longer fits L1,
// but the kernel streams it from L2 at the rate it needs. On the Zen 5 host (session 24), one
// thread: dG^T h 4096 x 1024 x 6400 190.6-193.9 GFLOP/s against 180.4-182.0 at 256 rows,
// 1024 x 1024 x 6400 179.6-186.9 against 176.8-183.8; 768 or 1024 rows made dy^T h (256 x
// 1024 x 6400) slower (142-158 against 170-175). Whole steps, `bench/ab.py` against 256
// rows, 11-15 rounds: large LSTM 1.039x (faster in 10 of 15), Elman 1.015x (10 of 11), GRU
// 1.003x (6 of 11); medium LSTM 1.018x (10 of 11), GRU 1.022x (8 of 11), Elman 0.997x;
// charrnn 1.013-1.021x (6-9 of 11); small 0.989-1.013x (5-7 of 11). Set by the shape alone,
// as results must not depend on the threads.
constexpr int kBlockDepth = 512;

// gemm_packed (the time loops' step product) cuts its m rows into as few calls as kPackedRows
// allows, of sizes as even as can be, and a call of 4 rows or more sums each of its rows
// exactly as any other such call does; from 8 rows on every call has 4 or more. So a time
// loop may split its batch into ranges of at least kMinSplitRows rows anywhere, not only at
// whole groups, and each row comes out bit for bit as the unsplit loop computes it. With
// AVX2's 6 rows a batch of 64 had split into 30 and 34 rows (five groups and six), the 34
// ending in a call of 4, and the first thread waited for the second every step; a batch of
// 32 split 18 and 14 (6 + 6 + 2), and 16 split 6 and 10.
constexpr int kMinSplitRows = 8;

// The step products' packed op(B) (gemm_packed), of kFetchAheadFrom bytes or more, is fetched
// into the cache ahead of the kernel (packed_kernels.hpp, multiply_panels): the first call on
// each panel, the one that brings it from memory into L2 for the calls after it, fetches the
// panel's row p + kAheadRows as it sums row p (past the panel's end, the next panel's first
// rows; not in the matrix's last panel, whose rows ahead lie past its end). The products over
// all steps, whose blocks of op(B) are packed just before (2 MB or less at the large size),
// do not. The large workload's step products stream their packed
// weights from beyond L2 once a step, 8 calls of 8 rows each on a panel, and the first call waited
// on memory: on the Zen 5 host, two threads, m = 64, k = 1280 (a `/tmp` program, the two alternated
// call by call), the LSTM's fused forward product (n = 4096, 21 MB) ran at 335-362 GFLOP/s against
// 300-355 without, the GRU's size (n = 3072) 366-376 against 354-376, n = 2048 (10.5 MB) 349-355
// against 328-345; on one thread 162 against 150 at n = 4096. The LSTM's backward step product (64
// x 1024 x 4352, 17.8 MB) 331-357 against 318-356. Below 8 MB it cost: the Elman's products (n =
// 1024, 5.2 MB, in L3) ran 1.5-3.5% slower, and n = 1536 (7.9 MB) was level. 64 rows ahead (8 KB
// with AVX-512 floats) against 16, 32, 128, 256 and 512: 16 and 32 gained half as much, 128-512 a
// little less; fetching the next panel (a whole panel ahead, 160 KB) a little less too. Whole steps
// (`bench/ab.py` against no fetching ahead): large LSTM 1.013x (faster in 7 of 11 rounds), 1.016x
// (5 of 5) and 0.993x (4 of 7), GRU 1.008x (5 of 7); the Elman's, below 8 MB, 1.002x.
inline constexpr std::size_t kFetchAheadFrom = std::size_t{8} << 20;
inline constexpr int kAheadRows = 64;

// While one lives on a thread, the step products it calls over packed weights (gemm_packed)
// that split cut their panels as `shares` say, time their parts, and move the shares by
// those times (part_split.hpp): a time loop that splits each step by columns
// (column_loop_parts, layer.hpp), whose threads meet at every step and need not run alike.
// Each column is computed as the unsplit product computes it, wherever the cuts fall. A pair
// of weight gradients, where it splits by rows (gemm_blocked_tn_pair; not where it sums k in
// halves, nor where it runs as two products), cuts its groups of rows the same way (the network's
// backward pass: LayerBuffers::gradient_shares), each row as on one thread. There the large
// workload's two parts (190 ms each for the LSTM's dG^T [x, h]) had ended 1-20 ms apart, now one
// thread and now the other the slower, on the Zen 5 host; learned cuts, `bench/ab.py` (9 rounds):
// large LSTM 1.017x (faster in 8 of 9), GRU 1.010x (7 of 9); medium and charrnn LSTM and Elman
// level (0.993-1.003x, 7 rounds).
class ProductShares {
 public:
  explicit ProductShares(PartShares* shares);
  ~ProductShares();
  ProductShares(const ProductShares&) = delete;
  ProductShares& operator=(const ProductShares&) = delete;

 private:
  PartShares* saved_;
};

// While one lives on a thread, the products it calls split among the free threads from 16K
// multiply-adds a thread, whether or not the pool's workers are awake (parts_for,
// packed_gemm.cpp). Network::step's choice, timed by a LoopTuner: a stream of steps never
// wakes the workers, so its products (262K multiply-adds for the LSTM's at H = 256) never
// split on their own; with the tuner's choice the streaming LSTM step ran 1.34x and the
// GRU's 1.43x as fast (Zen 3, bench/ab.py --workload stream). A caller whose steps come
// further apart than the workers spin pays a wake-up a step instead, which the tuner sees.
// From 16K rather than 64K, the Elman step's 65K h W_hh splits too: 1.23x on Zen 4, where
// its weights' 256 KB are read from L2 at about 32 bytes a cycle, so that two cores, each
// reading its half from its own L2, nearly halve the product.
class SplitSmallProducts {
 public:
  explicit SplitSmallProducts(bool on);
  ~SplitSmallProducts();
  SplitSmallProducts(const SplitSmallProducts&) = delete;
  SplitSmallProducts& operator=(const SplitSmallProducts&) = delete;

 private:
  bool saved_;
};

// The first of `units` (panels, groups of rows, rows) that part `part` of `parts` takes:
// part p takes [split(units, parts, p), split(units, parts, p + 1)).
inline int split(int units, int parts, int part) {
  return static_cast<int>(static_cast<long>(units) * part / parts);
}

template <typename T>
class PackedMatrix {
 public:
  // Two of the target's vectors of T per panel row.
  static constexpr int kPanel = 2 * kNativeLanes<T>;
  // A last panel of at most this many columns is narrow: its columns are kept apart as well.
  static constexpr int kNarrow = 4;

  // Packs op(B) [k, n] (B stored [n, k] when trans is kYes); grows its storage only when
  // a larger matrix arrives. The tail of the last panel is zero.
  void pack(Trans trans, int k, int n, const T* b, int ldb);
  // Packs [op(B1); op(B2)] [k1 + k2, n]: W_ih^T over W_hh^T for the fused forward step
  // (trans kYes: B1 [n, k1], B2 [n, k2]), W_hh over W_o for the backward step (kNo: B1
  // [k1, n], B2 [k2, n]).
  void pack_stacked(Trans trans, int n, int k1, const T* b1, int ldb1, int k2, const T* b2,
                    int ldb2);
  // The same, its columns in blocks, each of `width` columns taking the rows of B1 and B2 at
  // b1 and b2 ([width, k1] and [width, k2], rows ldb1 and ldb2 apart), or zeros for a null
  // one: a panel whose columns all have zeros there is multiplied over the other's rows only
  // (GRU's n gate, whose x W_in and h W_hn stay apart: blocks [W_ir; W_iz] over [W_hr; W_hz],
  // W_in over nothing, nothing over W_hn).
  struct Block {
    int width;
    const T* b1;
    const T* b2;
  };
  void pack_stacked(int k1, int ldb1, int k2, int ldb2, std::initializer_list<Block> blocks);
  // Room for a k x n matrix, its shape unchanged.
  void reserve(int k, int n);
  int rows() const { return k_; }
  int cols() const { return n_; }
  int panels() const { return (n_ + kPanel - 1) / kPanel; }
  const T* panel(int j) const { return data_.data() + static_cast<std::size_t>(j) * k_ * kPanel; }
  // The rows [first, second) of panel j that are not all zero by construction (pack_stacked's
  // blocks): the rows its product sums over.
  std::pair<int, int> panel_rows(int j) const {
    return rows_.empty() ? std::pair{0, k_} : std::pair{rows_[2 * j], rows_[2 * j + 1]};
  }
  // A narrow last panel's columns, each of its k rows contiguous (column j at j * k), made
  // with the packing, for the product that sums along k (packed_kernels.hpp, narrow_dot_column).
  const T* narrow_columns() const { return narrow_.data(); }
  // The first panel of part `part` of `parts` into which a product over all the panels
  // splits, by the rows they sum: equal counts of panels, but where pack_stacked's blocks
  // sum fewer rows (GRU's fused step: the x W_in panels sum I rows, the h W_hn ones H, the
  // r and z ones I + H), panels of as near equal a sum of rows as can be. (By counts, the
  // streaming GRU step's two parts had done 5120 and 2560 panel rows.)
  int split_panels(int parts, int part) const;
  // The panel at which `fraction` (0 to 1) of those rows lie before it, the same way
  // (split_panels is its even case): where a product over all the panels cuts for shares
  // that are not even (ProductShares).
  int panel_at(double fraction) const;

 private:
  void resize(int k, int n);
  void pack_rows(Trans trans, int row0, int k, const T* b, int ldb);  // rows [row0, row0 + k)
  void pack_part(Trans trans, int row0, int k, const T* b, int ldb, int part, int parts);
  void pack_blocks_panel(int jp, int k1, int ldb1, int ldb2, std::initializer_list<Block> blocks);
  void copy_narrow_columns();     // narrow_ from a narrow last panel
  int narrow_width(int n) const;  // columns of a narrow last panel of n columns, or 0

  int k_ = 0, n_ = 0;
  AlignedVector<T> data_;    // panels start on cache lines
  AlignedVector<T> narrow_;  // narrow_columns()
  std::vector<int> rows_;  // each panel's [first, last) rows (pack_stacked's blocks), or none: all
};

// C [m, n] = A [m, k] op(B) + beta C, for op(B) packed; beta 0 writes C without reading it.
// For float and double (the finite differences' long double never packs).
template <typename T>
void gemm_packed(int m, const T* a, int lda, const PackedMatrix<T>& b, T beta, T* c, int ldc);

// A block of A's columns stored apart from the others: row r, column p of the block at
// a[r * lda + p]; no values (a == nullptr) are zeros, and op(B)'s rows against them are not
// summed.
template <typename T>
struct ABlock {
  const T* a;
  int lda;
  int width;
};
constexpr int kMostABlocks = 3;

// The same for A = [A1, A2, ...], blocks of widths summing to k (at most kMostABlocks): the
// fused forward step's [x, h_prev]; a backward step's [dxw, dy] against [W_hh; W_o], which
// adds dLoss/dh from outside the layer into its product (layer.cpp); GRU's with dxw's r and
// z parts and dhw's n part apart.
template <typename T>
void gemm_packed(int m, std::initializer_list<ABlock<T>> a, const PackedMatrix<T>& b, T beta, T* c,
                 int ldc);

// Whether a product over all steps with A^T (a weight gradient, A^T [m, k] op(B) [k, n]; or a
// pair sharing A, n their columns together) sums k in two halves, the second half's sums
// added to the first's at the end: where C is small and k long. Split by rows, each thread
// packs all of op(B)'s blocks; split by columns, each reads all of A; either way two threads
// ran the medium Elman's weight gradients 1.11-1.16x slower than dnnl_sgemm, though one
// thread ran them as fast. With a half of k a thread, each packs and reads only its half.
// Zen 5, session 25, two threads, a product alone (a `/tmp` program): 1.12-1.41x as fast at
// 64 x 256, 256 x 256, 256 x 320, 512 x 256 and 768 x 256 by 6400, 1.07x at 1024 x 256;
// level at 2048 x 65 x 3200 and 4096 x 1024; 0.88-0.93x at 65 x 512 x 3200, whose op(B)
// block (1 MB) no longer fits a core's L2. Whole steps (`bench/ab.py`, 15 rounds, each
// faster in 15 of 15): medium Elman 1.057x, GRU 1.032x, small Elman 1.101x (0.989x in an
// earlier slow spell), LSTM 1.042x, GRU 1.058x; level: the medium LSTM 1.005x (its pair's C
// is 1.3 MB; halved too, with C up to 2 MB, 1.009x), charrnn GRU 1.004x, large GRU. Set by
// the shape alone, as results must not depend on the threads: on one thread the halves run
// one after the other.
inline constexpr std::size_t kHalvesMostC = std::size_t{1} << 20;         // bytes of C
inline constexpr std::size_t kHalvesMostBBlock = std::size_t{640} << 10;  // bytes of op(B)'s block
inline constexpr int kHalvesLeastDepth = 64;                              // k at least twice this

template <typename T>
inline bool sums_depth_halves(int m, int n, int k) {
  return k >= 2 * kHalvesLeastDepth &&
         static_cast<std::size_t>(m) * n * sizeof(T) <= kHalvesMostC &&
         static_cast<std::size_t>(std::min(k, kBlockDepth)) * n * sizeof(T) <= kHalvesMostBBlock;
}

// The same product as gemm_large, for float and double: op(B) packed block by block into
// buffers of the calling thread's, one for each part the product may split into, each with
// room for the whole product, that grow to the largest and are then reused, so that no
// product allocates after the first of its size, however it splits. A product with A^T and
// few columns (a weight gradient) sums k in two halves, one a thread, the second added to
// the first (sums_depth_halves, above), on one thread as on many.
template <typename T>
void gemm_blocked(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                  const T* b, int ldb, T beta, T* c, int ldc);

// C1 [m, n1] = A^T B1 and C2 [m, n2] = A^T B2 for A stored [k, m], B1 [k, n1] and B2 [k, n2],
// for float and double: the weight gradients dW_ih = dG^T x and dW_hh = dG^T h_prev of one
// dG. Each block of A^T, copied (copies_transposed_a) or read in place, serves both
// products, the rows split among threads (read in place, only where a product over all of k
// would split them by rows: from 32M multiply-adds or with the workers awake; below, the
// two products apart). The input's, of few columns (I = 64: 2 panels), had paid for a copy
// of all of dG on its own; read in place (the medium Elman and GRU, lda 256 and 768
// floats), each product and the sums had read all of dG, whose blocks are now in cache for
// the second (`bench/ab.py --rounds 9`: medium Elman 1.026x, GRU 1.037x). With sums,
// sums[i] = the sum over p of A[p, i] as well (the bias gradient: dG's column sums), block by
// block as the products read them (one pass over dG fewer: the medium LSTM's is 26 MB).
// Where the two products' columns together are few (sums_depth_halves of m, n1 + n2, k), k
// is summed in halves, products and sums alike, and each C is as gemm_blocked gives it
// alone (which halves it too). Else each C is a product over all of k, as gemm_blocked gives
// it unless it would halve that product alone, and the sums are as add_column_sums gives
// them into zeros, bit for bit. Either way the values depend on the shapes alone.
template <typename T>
void gemm_blocked_tn_pair(int m, int k, const T* a, int lda, int n1, const T* b1, int ldb1, T* c1,
                          int ldc1, int n2, const T* b2, int ldb2, T* c2, int ldc2,
                          T* sums = nullptr);

// The same for any T and size: the products apart where either is small enough for gemm's
// small loop (or T is long double).
template <typename T>
inline void gemm_tn_pair(int m, int k, const T* a, int lda, int n1, const T* b1, int ldb1, T* c1,
                         int ldc1, int n2, const T* b2, int ldb2, T* c2, int ldc2,
                         T* sums = nullptr) {
  if constexpr (sizeof(T) <= sizeof(double)) {
    if (static_cast<long>(m) * std::min(n1, n2) * k > detail::kSmallGemm) {
      return gemm_blocked_tn_pair(m, k, a, lda, n1, b1, ldb1, c1, ldc1, n2, b2, ldb2, c2, ldc2,
                                  sums);
    }
  }
  gemm(Trans::kYes, Trans::kNo, m, n1, k, T(1), a, lda, b1, ldb1, T(0), c1, ldc1);
  gemm(Trans::kYes, Trans::kNo, m, n2, k, T(1), a, lda, b2, ldb2, T(0), c2, ldc2);
  if (sums != nullptr) column_sums(k, m, a, lda, sums);
}

// Whether a recurrent product of [batch, k] by [k, n] is better served packed than by
// gemm.hpp's small loop: above the small loop's size limit.
template <typename T>
inline bool use_packed(int batch, int k, int n) {
  return sizeof(T) <= sizeof(double) && static_cast<long>(batch) * k * n > detail::kSmallGemm;
}

// Whether a streaming step's product of [batch, k] by [k, n] is packed (Network::step): its
// weights are packed once for all the steps that follow, so from far smaller products than a
// time loop's. One step of batch 1 went through gemm.hpp's small loop below 32K
// multiply-adds, one chain of sums for each 32 columns, and the readout transposed W_o on the
// stack every step: the streaming LSTM of H = 64 took longer than that of H = 128 (6.5
// against 5.0 us, Zen 4).
constexpr long kStepPacked = 1024;
template <typename T>
inline bool use_packed_step(int k, int n) {
  return sizeof(T) <= sizeof(double) && static_cast<long>(k) * n >= kStepPacked;
}

}  // namespace recur
