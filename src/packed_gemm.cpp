// The packed products' drivers: how many parts a product splits into (parts_for), its blocks of
// k and of C's rows for the products over all steps (gemm_blocked, gemm_blocked_tn_pair), and
// the step products over weights packed once per loop (gemm_packed). The register-tile kernels
// they call are in packed_kernels.hpp, the packing of op(B) in packed_matrix.cpp.
#include "packed_gemm.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "packed_kernels.hpp"
#include "recur/error.hpp"
#include "thread_pool.hpp"

namespace recur {

namespace {

using packed::ABlocks;
using packed::kRows;
using packed::multiply_panels;
using packed::pack_a_transposed;

// Threads for a product of m * n * k multiply-adds split over `panels` panels (or groups of
// kRows rows): one per 2M multiply-adds (about 10 us; below that, waking a sleeping worker
// costs more than it saves on the small workload), or per 256K while the workers still spin
// from the last job (workers_awake), when handing them a part costs about a microsecond: the
// small steps' readout, input projection and input weights' gradient (0.8-3.3M) then split
// too, and the small Elman step was 16% faster, GRU 9%, LSTM 6% (flat from 32K to 256K);
// and at least two panels each; at least 1.
// Within a SplitSmallProducts, one per 16K whether the workers are awake or not.
thread_local bool split_small_products = false;
// The shares of a ProductShares living on this thread, or none.
thread_local PartShares* product_shares = nullptr;

int parts_for(long work, int panels) {
  constexpr long kAwakeWork = 1L << 18, kSplitSmallWork = 1L << 14;
  const long awake_work = split_small_products ? kSplitSmallWork : kAwakeWork;
  if (work < 2 * awake_work) return 1;  // without reading the clock (workers_awake)
  const long work_per_thread = split_small_products || workers_awake() ? awake_work : 1L << 21;
  return static_cast<int>(
      std::max<long>(1, std::min<long>({free_threads(), work / work_per_thread, panels / 2})));
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

// How A^T, rows lda apart, is read against `panels` panels of B, as copies_transposed_a says.
template <typename T>
ATranspose transposed_a_mode(int panels, int lda) {
  return copies_transposed_a<T>(panels, lda) ? ATranspose::kCopied : ATranspose::kInPlace;
}

// Blocks of kBlockDepth rows of op(B) (packed_gemm.hpp) and kHeight rows of C (their op(A)
// block in L2), whole groups of kRows: a block's edge inside a group would change the kernel
// calls, and so the sums, of the rows around it with where the product starts (a part of a
// split product, or a product sharing its A with a second). 64 rows (60 with AVX2's groups of
// 6) rather than 128 (session 18, Zen 4, the same values bit for bit): the charrnn Elman pair
// alone 1.03x, and bench/ab.py, 5-7 rounds, charrnn Elman 1.012x (6 of 7), GRU 1.006x (6 of
// 7), LSTM 1.003x, the medium LSTM 1.005x, large LSTM 1.009x, small LSTM 1.026x (5 of 5), the
// medium Elman and GRU and small GRU 0.996-0.999x; 256 rows: the pair alone 0.95x.
constexpr int kHeight = 64 / kRows * kRows;
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
// A^T's when copied.
template <typename T>
struct BlockBuffers {
  std::array<PackedMatrix<T>, 2> b;
  std::vector<T> a;

  // Room for the blocks of an m x n x k product (and of a second of n2 columns sharing its
  // A): then no part of it, however split, allocates.
  void reserve(ATranspose ta, int m, int n, int k, int n2 = 0) {
    b[0].reserve(std::min(kBlockDepth, k), n);
    if (n2 > 0) b[1].reserve(std::min(kBlockDepth, k), n2);
    const std::size_t a_block =
        static_cast<std::size_t>(std::min(kHeight, m) + kRows - 1) / kRows * kRows * kBlockDepth;
    if (ta == ATranspose::kCopied && a.size() < a_block) a.resize(a_block);
  }
};

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

// C = alpha A^T op(B) + beta C for each of `count` outputs sharing A^T ([k, m], rows lda
// apart), and with sums, sums[i] = the sum over p of A^T's [p, i], k in two halves
// (sums_depth_halves): the first half's sums go to C and sums, the second's to the caller's
// scratch and are then added, so that every C and sum is (first half) + (second half) on any
// number of threads. Parts: the halves, each cut by rows into as many as the threads allow.
template <typename T>
void gemm_depth_halves(ATranspose mode, bool tb, int m, int k, T alpha, const T* a, int lda, T beta,
                       const BlockedOutput<T>* outputs, int count, T* sums) {
  int columns = 0;
  for (int o = 0; o < count; ++o) columns += outputs[o].n;
  const int groups = (m + kRows - 1) / kRows, half = k / 2;
  // Threads as for a split by rows (rows_split_pays): a worker asleep is not woken for less.
  const long work = static_cast<long>(m) * columns * k;
  const int parts = rows_split_pays(work) ? parts_for(work, 4 * groups) : 1;
  const int row_parts = std::max(1, parts / 2);
  std::vector<BlockBuffers<T>>& buffers =
      callers_buffers<T>(mode, m, outputs[0].n, k, count > 1 ? outputs[1].n : 0);
  // The second half's C (each output's m x n, rows n apart) and sums, after one another.
  // (Through pointers: a thread_local named in the lambda would be, on a worker, its own.)
  thread_local std::vector<T> second_half;
  const std::size_t second_size = static_cast<std::size_t>(m) * (columns + 1);
  if (second_half.size() < second_size) second_half.resize(second_size);
  std::array<T*, 2> second_c{};
  T* second_sums = second_half.data();
  for (int o = 0; o < count; ++o) {
    second_c[o] = second_sums;
    second_sums += static_cast<std::size_t>(m) * outputs[o].n;
  }
  const bool pooled = parts >= 2;
  auto part = [&](int t) {
    const int h = t % 2, r = t / 2;
    const int i0 = split(groups, row_parts, r) * kRows;
    const int i1 = std::min(m, split(groups, row_parts, r + 1) * kRows);
    if (i0 >= i1) return;
    const int p0 = h == 0 ? 0 : half, depth = h == 0 ? half : k - half;
    std::array<BlockedOutput<T>, 2> out{};
    for (int o = 0; o < count; ++o) {
      const BlockedOutput<T>& whole = outputs[o];
      const int ldc = h == 0 ? whole.ldc : whole.n;
      out[o] = {whole.n, tb ? whole.b + p0 : whole.b + static_cast<std::size_t>(p0) * whole.ldb,
                whole.ldb, (h == 0 ? whole.c : second_c[o]) + static_cast<std::size_t>(i0) * ldc,
                ldc};
    }
    T* part_sums = sums == nullptr ? nullptr : (h == 0 ? sums : second_sums) + i0;
    if (part_sums != nullptr) std::fill(part_sums, part_sums + (i1 - i0), T(0));
    gemm_blocked_columns(mode, tb, i1 - i0, depth, alpha,
                         a + static_cast<std::size_t>(p0) * lda + i0, lda, h == 0 ? beta : T(0),
                         out.data(), count, buffers[pooled ? t : 0], part_sums);
  };
  if (pooled) {
    parallel_for_parts(2 * row_parts, part);
  } else {  // one thread: the halves in turn (row_parts is 1)
    part(0);
    part(1);
  }
  for (int o = 0; o < count; ++o) {
    const BlockedOutput<T>& whole = outputs[o];
    for (int i = 0; i < m; ++i) {
      T* c_row = whole.c + static_cast<std::size_t>(i) * whole.ldc;
      const T* s_row = second_c[o] + static_cast<std::size_t>(i) * whole.n;
      for (int j = 0; j < whole.n; ++j) c_row[j] += s_row[j];
    }
  }
  if (sums != nullptr) {
    for (int i = 0; i < m; ++i) sums[i] += second_sums[i];
  }
}

}  // namespace

ProductShares::ProductShares(PartShares* shares) : saved_(product_shares) {
  product_shares = shares;
}

ProductShares::~ProductShares() {
  product_shares = saved_;
}

SplitSmallProducts::SplitSmallProducts(bool on) : saved_(split_small_products) {
  split_small_products = on;
}

SplitSmallProducts::~SplitSmallProducts() {
  split_small_products = saved_;
}

template <typename T>
int PackedMatrix<T>::split_panels(int parts, int part) const {
  if (part <= 0 || part >= parts) return split(panels(), parts, part);
  return panel_at(static_cast<double>(part) / parts);
}

template <typename T>
int PackedMatrix<T>::panel_at(double fraction) const {
  const int panels = this->panels();
  fraction = std::clamp(fraction, 0.0, 1.0);
  // Evenly by count, as split() cuts: rounded down (a hair over for p / parts in binary)
  if (rows_.empty()) return static_cast<int>(panels * fraction + 1e-9);
  long total = 0;
  for (int j = 0; j < panels; ++j) total += rows_[2 * j + 1] - rows_[2 * j];
  // The target rounded down likewise, so that split_panels's even cuts fall on whole rows
  const double target = std::floor(static_cast<double>(total) * fraction + 1e-9);
  long sum = 0;
  int j = 0;
  for (; j < panels && 2.0 * sum + (rows_[2 * j + 1] - rows_[2 * j]) <= 2 * target; ++j) {
    sum += rows_[2 * j + 1] - rows_[2 * j];  // panel j goes before the cut while its middle does
  }
  return j;
}

namespace {

template <typename T>
void gemm_packed_blocks(int m, const ABlocks<T>& a, const PackedMatrix<T>& b, T beta, T* c,
                        int ldc) {
  const int panels = (b.cols() + PackedMatrix<T>::kPanel - 1) / PackedMatrix<T>::kPanel;
  const int parts = parts_for(static_cast<long>(m) * b.cols() * b.rows(), panels);
  PartShares* shares = product_shares;
  if (shares == nullptr || parts < 2 || parts > PartShares::kMostParts) {
    auto part = [&](int t) {
      multiply_panels<false, T, true, true>(m, a, 0, b, T(1), beta, c, ldc,
                                            b.split_panels(parts, t), b.split_panels(parts, t + 1));
    };
    parallel_for_parts(parts, part);
    return;
  }
  // Cut where the shares say, a panel a part at least (parts_for leaves two or more each);
  // a cut held back for that teaches the shares nothing, as PartSplit's.
  std::array<int, PartShares::kMostParts + 1> cut{};
  cut[parts] = panels;
  bool learns = true;
  for (int p = 1; p < parts; ++p) {
    const int ideal = b.panel_at(shares->before(parts, p));
    cut[p] = std::clamp(ideal, cut[p - 1] + 1, panels - (parts - p));
    learns = learns && cut[p] == ideal;
  }
  std::array<double, PartShares::kMostParts> seconds{};
  auto part = [&](int t) {
    const double start = part_clock();
    multiply_panels<false, T, true, true>(m, a, 0, b, T(1), beta, c, ldc, cut[t], cut[t + 1]);
    seconds[t] = part_clock() - start;
  };
  if (parallel_for_parts(parts, part) && learns) shares->update(parts, seconds.data());
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

// gemm_blocked over all of k at once, whatever its shape: the products of a pair that
// gemm_blocked_tn_pair runs apart, and every product that sums_depth_halves leaves whole.
template <typename T>
void gemm_blocked_whole_depth(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha,
                              const T* a, int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  // Columns split among threads, each running the whole blocked product on its own; or rows,
  // where that gives more threads (a product of few columns: a readout of a small O, the
  // input's weight gradient of a small I, which the columns left on one thread), or as many
  // with A^T copied out, so that each thread copies only its own rows of A^T (the costly
  // copy) while all copy B's blocks.
  constexpr int W = PackedMatrix<T>::kPanel;
  const bool ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  const int panels = (n + W - 1) / W, groups = (m + kRows - 1) / kRows;
  const long work = static_cast<long>(m) * n * k;
  const ATranspose a_mode = ta ? transposed_a_mode<T>(panels, lda) : ATranspose::kNo;
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
    parallel_for_parts(row_parts, part);
    return;
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

}  // namespace

template <typename T>
void gemm_blocked(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                  const T* b, int ldb, T beta, T* c, int ldc) {
  if (trans_a == Trans::kYes && sums_depth_halves<T>(m, n, k)) {
    constexpr int W = PackedMatrix<T>::kPanel;
    const BlockedOutput<T> output{n, b, ldb, c, ldc};
    return gemm_depth_halves(transposed_a_mode<T>((n + W - 1) / W, lda), trans_b == Trans::kYes, m,
                             k, alpha, a, lda, beta, &output, 1, static_cast<T*>(nullptr));
  }
  gemm_blocked_whole_depth(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void gemm_blocked_tn_pair(int m, int k, const T* a, int lda, int n1, const T* b1, int ldb1, T* c1,
                          int ldc1, int n2, const T* b2, int ldb2, T* c2, int ldc2, T* sums) {
  constexpr int W = PackedMatrix<T>::kPanel;
  const int panels = (n1 + W - 1) / W + (n2 + W - 1) / W, groups = (m + kRows - 1) / kRows;
  const ATranspose mode = transposed_a_mode<T>(panels, lda);
  if (sums_depth_halves<T>(m, n1 + n2, k)) {
    const BlockedOutput<T> outputs[2] = {{n1, b1, ldb1, c1, ldc1}, {n2, b2, ldb2, c2, ldc2}};
    return gemm_depth_halves(mode, false, m, k, T(1), a, lda, T(0), outputs, 2, sums);
  }
  const long work = static_cast<long>(m) * (n1 + n2) * k;
  if (mode == ATranspose::kInPlace && !rows_split_pays(work)) {
    // Where gemm_blocked_whole_depth would not split by rows either: each product as it
    // splits alone (by columns, or not at all), the same values bit for bit.
    gemm_blocked_whole_depth(Trans::kYes, Trans::kNo, m, n1, k, T(1), a, lda, b1, ldb1, T(0), c1,
                             ldc1);
    gemm_blocked_whole_depth(Trans::kYes, Trans::kNo, m, n2, k, T(1), a, lda, b2, ldb2, T(0), c2,
                             ldc2);
    if (sums != nullptr) column_sums(k, m, a, lda, sums);
    return;
  }
  // Rows split among threads, as gemm_blocked splits a product whose A^T is copied (or one
  // read in place where rows_split_pays): each thread reads or copies only its own rows of
  // A^T, once for both products and the sums. Cut where the shares of a ProductShares living
  // on this thread say (the network's weight gradients: LayerBuffers::gradient_shares), or
  // evenly; any cut between groups of kRows rows gives each row the same values.
  const int parts = parts_for(work, groups);
  std::vector<BlockBuffers<T>>& buffers = callers_buffers<T>(mode, m, n1, k, n2);
  PartShares even;
  PartSplit cut(product_shares != nullptr ? *product_shares : even, parts, groups, 1);
  cut.run([&](int t, int g0, int g1) {
    const int i0 = g0 * kRows, i1 = std::min(m, g1 * kRows);
    if (i0 >= i1) return;
    if (sums != nullptr) std::fill(sums + i0, sums + i1, T(0));
    const BlockedOutput<T> outputs[2] = {
        {n1, b1, ldb1, c1 + static_cast<std::size_t>(i0) * ldc1, ldc1},
        {n2, b2, ldb2, c2 + static_cast<std::size_t>(i0) * ldc2, ldc2}};
    gemm_blocked_columns(mode, false, i1 - i0, k, T(1), a + i0, lda, T(0), outputs, 2, buffers[t],
                         sums != nullptr ? sums + i0 : nullptr);
  });
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
  for (int p0 = 0; p0 < k; p0 += kBlockDepth) {
    const int depth = std::min(kBlockDepth, k - p0);
    for (int o = 0; o < count; ++o) {
      const BlockedOutput<T>& out = outputs[o];
      buffers.b[o].pack(trans_b, depth, out.n,
                        tb ? out.b + p0 : out.b + static_cast<std::size_t>(p0) * out.ldb, out.ldb);
    }
    const T block_beta = p0 == 0 ? beta : T(1);  // later blocks add to what the first wrote
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
                                alpha, block_beta, c_block, ldc);
        } else if (ta == ATranspose::kInPlace) {
          multiply_panels<true>(height,
                                ABlocks<T>(a + static_cast<std::size_t>(p0) * lda + i0, lda, depth),
                                1, packed, alpha, block_beta, c_block, ldc);
        } else {
          multiply_panels<false>(
              height, ABlocks<T>(a + static_cast<std::size_t>(i0) * lda + p0, lda, depth), lda,
              packed, alpha, block_beta, c_block, ldc);
        }
      }
    }
  }
}

}  // namespace

#define RECUR_INSTANTIATE(T)                                                                       \
  template int PackedMatrix<T>::split_panels(int, int) const;                                      \
  template int PackedMatrix<T>::panel_at(double) const;                                            \
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
