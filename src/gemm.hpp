// The one narrow matrix-multiply interface every layer goes through, so that the kernel
// behind it can change without touching the layers: recur's small loop below, recur's
// blocked kernel above it (packed_gemm.hpp), Eigen for long double (gemm.cpp says which
// backends were measured against them, and how they fared).
#pragma once

#include <algorithm>
#include <cstring>

namespace recur {

enum class Trans { kNo, kYes };

// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major with leading
// dimensions lda, ldb, ldc. op(A) is A, or A^T when A is stored [k, m]. With beta == 0, C is
// only written, never read. Each element of C sums its k products in order p = 0, 1, ...
// for small problems, as a plain loop would.
template <typename T>
inline void gemm(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                 const T* b, int ldb, T beta, T* c, int ldc);

// The large case (gemm.cpp): recur's blocked kernel for float and double, Eigen's product for
// long double.
template <typename T>
void gemm_large(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                const T* b, int ldb, T beta, T* c, int ldc);

// out[j] += sum over rows i of a[i, j], for a [rows, cols] with rows lda apart; each column
// sums its rows in order, from 0.
template <typename T>
void add_column_sums(int rows, int cols, const T* a, int lda, T* out);

// sum[c] += a[i, j + c] for c in [0, width) and the rows i in order: a block's column sums
// added into running ones, the step of add_column_sums (and of the weight gradients' bias
// sums taken block by block as their product reads dG, packed_gemm.cpp).
template <typename T>
void add_block_to_sums(int rows, int lda, const T* a, int j, int width, T* sum);

// out[j] = the same sums (into zeros).
template <typename T>
inline void column_sums(int rows, int cols, const T* a, int lda, T* out) {
  std::fill(out, out + cols, T(0));
  add_column_sums(rows, cols, a, lda, out);
}

namespace detail {

// Below this many multiply-adds a plain loop, inlined into the caller, beats any library's
// dispatch and blocking; recurrent steps of small networks live here.
constexpr long kSmallGemm = 32L * 32 * 32;
// Up to this many elements of B are transposed on the stack so that rows of B stream.
constexpr int kTransposeLimit = 4096;

// A 512-bit vector of T (GCC's vector extension): the compiler maps it to one AVX-512
// register, or to two or four narrower ones where that is what the machine has.
template <typename T>
using Vector [[gnu::vector_size(64)]] = T;

// acc[j] = sum over p of op(A)[i, p] * B[p, j0 + j], for W columns, p in order. W is fixed at
// compile time so that the accumulators stay in registers; whole vectors are spelled out as
// such, since left to itself GCC splits an 8-double row into 4 + 2 + 1 + 1 lanes.
template <int W, bool kTransA, typename T>
inline void accumulate_columns(int k, const T* a, int lda, int i, const T* b, int ldb, int j0,
                               T* out) {
  constexpr int kLanes = 64 / sizeof(T);
  if constexpr (W % kLanes == 0) {
    constexpr int kVectors = W / kLanes;
    Vector<T> acc[kVectors] = {};
    for (int p = 0; p < k; ++p) {
      const T a_ip = kTransA ? a[p * lda + i] : a[i * lda + p];
      const T* b_row = b + p * ldb + j0;
      for (int v = 0; v < kVectors; ++v) {
        Vector<T> b_v;
        std::memcpy(&b_v, b_row + v * kLanes, sizeof b_v);
        acc[v] += a_ip * b_v;
      }
    }
    std::memcpy(out, acc, sizeof acc);
  } else {
    T acc[W] = {};
    for (int p = 0; p < k; ++p) {
      const T a_ip = kTransA ? a[p * lda + i] : a[i * lda + p];
      const T* b_row = b + p * ldb + j0;
      for (int j = 0; j < W; ++j) acc[j] += a_ip * b_row[j];
    }
    for (int j = 0; j < W; ++j) out[j] = acc[j];
  }
}

// C = alpha * op(A) * B + beta * C for B stored [k, n]; each C element sums its k products in
// order p = 0, 1, ... and then adds beta * C, as a plain loop would.
template <bool kTransA, typename T>
inline void gemm_loop(int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb,
                      T beta, T* c, int ldc) {
  constexpr int kVector = 64 / sizeof(T);  // one 512-bit register
  T acc[2 * kVector];
  for (int i = 0; i < m; ++i) {
    T* c_row = c + i * ldc;
    int j0 = 0;
    auto finish = [&](int width) {
      if (beta == T(0)) {
        for (int j = 0; j < width; ++j) c_row[j0 + j] = alpha * acc[j];
      } else {
        for (int j = 0; j < width; ++j) c_row[j0 + j] = alpha * acc[j] + beta * c_row[j0 + j];
      }
      j0 += width;
    };
    while (j0 + 2 * kVector <= n) {
      accumulate_columns<2 * kVector, kTransA>(k, a, lda, i, b, ldb, j0, acc);
      finish(2 * kVector);
    }
    while (j0 + kVector <= n) {
      accumulate_columns<kVector, kTransA>(k, a, lda, i, b, ldb, j0, acc);
      finish(kVector);
    }
    while (j0 + 4 <= n) {
      accumulate_columns<4, kTransA>(k, a, lda, i, b, ldb, j0, acc);
      finish(4);
    }
    while (j0 < n) {
      accumulate_columns<1, kTransA>(k, a, lda, i, b, ldb, j0, acc);
      finish(1);
    }
  }
}

// op(B) = B^T: B's rows are C's columns. Transposed on the stack when small enough that
// rows of B then stream; kept out of gemm_small so that the common case's frame stays small.
template <typename T>
[[gnu::noinline]] void gemm_small_trans_b(bool ta, int m, int n, int k, T alpha, const T* a,
                                          int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  if (n * k > kTransposeLimit) {  // a column of C at a time
    for (int j = 0; j < n; ++j) {
      ta ? gemm_loop<true>(m, 1, k, alpha, a, lda, b + j * ldb, 1, beta, c + j, ldc)
         : gemm_loop<false>(m, 1, k, alpha, a, lda, b + j * ldb, 1, beta, c + j, ldc);
    }
    return;
  }
  T b_t[kTransposeLimit];
  for (int j = 0; j < n; ++j) {
    for (int p = 0; p < k; ++p) b_t[p * n + j] = b[j * ldb + p];
  }
  ta ? gemm_loop<true>(m, n, k, alpha, a, lda, b_t, n, beta, c, ldc)
     : gemm_loop<false>(m, n, k, alpha, a, lda, b_t, n, beta, c, ldc);
}

template <typename T>
inline void gemm_small(bool ta, bool tb, int m, int n, int k, T alpha, const T* a, int lda,
                       const T* b, int ldb, T beta, T* c, int ldc) {
  if (tb) {
    gemm_small_trans_b(ta, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else if (ta) {
    gemm_loop<true>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    gemm_loop<false>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace detail

template <typename T>
inline void gemm(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
                 const T* b, int ldb, T beta, T* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (static_cast<long>(m) * n * k <= detail::kSmallGemm) {
    detail::gemm_small(trans_a == Trans::kYes, trans_b == Trans::kYes, m, n, k, alpha, a, lda, b,
                       ldb, beta, c, ldc);
  } else {
    gemm_large(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace recur
