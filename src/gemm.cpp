#include "gemm.hpp"

#include <Eigen/Core>
#include <algorithm>

#include "packed_gemm.hpp"

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
    // recur's own blocked kernel (packed_gemm.cpp): Eigen's allocated its blocking buffers
    // on every call, and for the shapes of a training step the page faults of those
    // allocations cost more than the arithmetic (measured: 28% of a small Elman step in the
    // kernel, 24% in Eigen's packing).
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

template <typename T>
void add_column_sums(int rows, int cols, const T* a, T* out) {
  // A block of up to 1024 columns at a time, summed in locals (summing into out directly made
  // the compiler reload it for every row, since out might alias a), each row's part read
  // whole: contiguous reads the prefetcher follows. (Blocks of 16 columns read each row 64
  // bytes at a time, a stride of whole rows apart: 2.6 ms for the medium LSTM's 6400 x 1024
  // bias gradient.) Each column still sums its rows in order.
  constexpr int kBlock = 1024;
  T sum[kBlock];
  for (int j0 = 0; j0 < cols; j0 += kBlock) {
    const int width = std::min(kBlock, cols - j0);
    std::fill(sum, sum + width, T(0));
    for (int i = 0; i < rows; ++i) {
      const T* row = a + static_cast<long>(i) * cols + j0;
      for (int j = 0; j < width; ++j) sum[j] += row[j];
    }
    for (int j = 0; j < width; ++j) out[j0 + j] += sum[j];
  }
}

#define RECUR_INSTANTIATE(T)                                                                       \
  template void gemm<T>(Trans, Trans, int, int, int, T, const T*, int, const T*, int, T, T*, int); \
  template void gemm_large<T>(Trans, Trans, int, int, int, T, const T*, int, const T*, int, T, T*, \
                              int);                                                                \
  template void add_column_sums<T>(int, int, const T*, T*);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
