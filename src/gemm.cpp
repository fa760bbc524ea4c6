#include "gemm.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cstring>

#include "count_dispatch.hpp"
#include "packed_gemm.hpp"
#include "simd.hpp"

namespace recur {

namespace {

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstView = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
template <typename T>
using View = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;

template <typename T, typename OpA, typename OpB>
void gemm_eigen(const OpA& op_a, const OpB& op_b, T alpha, T beta, View<T>& c) {
  if (beta == T(0)) {
    c.noalias() = alpha * op_a * op_b;
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * op_a * op_b;
  }
}

}  // namespace

template <typename T>
void gemm_large(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                const T* b, int ldb, T beta, T* c, int ldc) {
  if constexpr (sizeof(T) <= sizeof(double)) {
    // recur's own blocked kernel (packed_gemm.cpp), for every shape of float and double.
    // bench/gemm_backends times each product of the training steps through it, oneDNN's
    // dnnl_sgemm and Eigen 3.4 at the same threads. On session 8's Intel host, two threads:
    // recur's packed kernel won the recurrent step products (64 x 1024 x 1280: 247-255
    // GFLOP/s against oneDNN's 221-228, Eigen's 173-184); oneDNN won most of the products
    // over all steps, by 1.1-2x (the GRU input projection 6400 x 3072 x 256: 152 against 316,
    // the output gradient dy W_o 1.3-1.9x), Eigen a few by under 1.15x; taking the best of
    // each per shape would have made a step's products 1.03-1.12x faster at the medium, charrnn
    // and large sizes (1.3-1.4x at the small one, whose products take microseconds). In double
    // (no oneDNN), Eigen was within 1.04x of recur after the A^T copy rule, but for the small
    // LSTM's (1.43x). Neither library is called: dnnl_sgemm allocates on every call (1 malloc
    // a call on one thread, 5 on two, and 3,648 on the first call of a shape, its JIT) and
    // runs its own OpenMP threads beside recur's pool; Eigen allocated its blocking buffers
    // on every call, and for the shapes of a training step the page faults of those
    // allocations cost more than the arithmetic (28% of a small Elman step in the kernel, 24%
    // in Eigen's packing). Where oneDNN wins, its rates are the target of recur's kernel.
    // On session 18's Zen 4 host, two threads: recur's packed kernel won or tied the step
    // products (183-224 GFLOP/s against oneDNN's 191-223); oneDNN won the products of A^T over
    // all steps by 1.03-1.56x (dW_o = dy^T h, 64 x 256 x 6400: 158 against 206; at one thread
    // 1.17-1.32x), and the best of each would make a step's products 1.01-1.08x faster at the
    // medium and charrnn sizes. Called inside a training step for the weight gradients (a
    // throwaway build with the library linked to oneDNN), it made the charrnn Elman step
    // 1.02-1.05x faster, the medium Elman and LSTM 0.98x, with OMP_WAIT_POLICY=PASSIVE; with
    // OpenMP's default policy, its threads spinning beside the pool's, the medium Elman 0.70x.
    return gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  const bool ta = trans_a == Trans::kYes;
  const bool tb = trans_b == Trans::kYes;
  ConstView<T> a_view(a, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
  ConstView<T> b_view(b, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
  View<T> c_view(c, m, n, Eigen::OuterStride<>(ldc));
  if (ta && tb) {
    gemm_eigen(a_view.transpose(), b_view.transpose(), alpha, beta, c_view);
  } else if (ta) {
    gemm_eigen(a_view.transpose(), b_view, alpha, beta, c_view);
  } else if (tb) {
    gemm_eigen(a_view, b_view.transpose(), alpha, beta, c_view);
  } else {
    gemm_eigen(a_view, b_view, alpha, beta, c_view);
  }
}

namespace {

// sum[j] += a[i, j] for rows i in order and the NV * L columns from j, held in NV vectors
// (independent chains of adds) across the rows, for float and double.
template <int NV, typename T>
inline void add_rows_to_sums(int rows, int lda, const T* a, int j, T* sum) {
  constexpr int L = kNativeLanes<T>;
  using Vector = NativeVector<T>;
  Vector acc[NV];
  for (int v = 0; v < NV; ++v) std::memcpy(&acc[v], sum + v * L, sizeof acc[v]);
  for (int i = 0; i < rows; ++i) {
    const T* row = a + static_cast<long>(i) * lda + j;
    for (int v = 0; v < NV; ++v) {
      Vector x;
      std::memcpy(&x, row + v * L, sizeof x);
      acc[v] += x;
    }
  }
  for (int v = 0; v < NV; ++v) std::memcpy(sum + v * L, &acc[v], sizeof acc[v]);
}

}  // namespace

// add_rows_to_sums for columns [j, j + width) of a block of rows: 8 vectors at a time, then
// the rest of the whole vectors together (float and double), then single columns.
template <typename T>
void add_block_to_sums(int rows, int lda, const T* a, int j, int width, T* sum) {
  int done = 0;
  if constexpr (sizeof(T) <= sizeof(double)) {
    constexpr int L = kNativeLanes<T>;
    for (; done + 8 * L <= width; done += 8 * L) {
      add_rows_to_sums<8>(rows, lda, a, j + done, sum + done);
    }
    const int vectors = (width - done) / L;
    with_count<7>(vectors,
                  [&]<int NV>() { add_rows_to_sums<NV>(rows, lda, a, j + done, sum + done); });
    done += vectors * L;
  }
  for (int i = 0; i < rows; ++i) {
    const T* row = a + static_cast<long>(i) * lda + j;
    for (int c = done; c < width; ++c) sum[c] += row[c];
  }
}

template <typename T>
void add_column_sums(int rows, int cols, const T* a, int lda, T* out) {
  // Blocks of up to 1024 columns, and within them of 32 rows (128 KB of the medium LSTM's
  // 6400 x 1024 bias gradient, which then stays in L2 while its columns are swept), summed
  // in vectors held in registers across the block's rows: each vector of sums is loaded and
  // stored once a block, not once a row. Each column still sums its rows in order, from 0.
  constexpr int kBlock = 1024, kRowBlock = 32;
  T sum[kBlock];
  for (int j0 = 0; j0 < cols; j0 += kBlock) {
    const int width = std::min(kBlock, cols - j0);
    std::fill(sum, sum + width, T(0));
    for (int i0 = 0; i0 < rows; i0 += kRowBlock) {
      add_block_to_sums(std::min(kRowBlock, rows - i0), lda, a + static_cast<long>(i0) * lda, j0,
                        width, sum);
    }
    for (int j = 0; j < width; ++j) out[j0 + j] += sum[j];
  }
}

#define RECUR_INSTANTIATE(T)                                                                       \
  template void gemm<T>(Trans, Trans, int, int, int, T, const T*, int, const T*, int, T, T*, int); \
  template void gemm_large<T>(Trans, Trans, int, int, int, T, const T*, int, const T*, int, T, T*, \
                              int);                                                                \
  template void add_column_sums<T>(int, int, const T*, int, T*);                                   \
  template void add_block_to_sums<T>(int, int, const T*, int, int, T*);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
