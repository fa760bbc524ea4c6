// The one narrow matrix-multiply interface every layer goes through, so that the kernel
// behind it can change (Eigen today) without touching the layers.
#pragma once

namespace recur {

enum class Trans { kNo, kYes };

// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major with leading
// dimensions lda, ldb, ldc. op(A) is A, or A^T when A is stored [k, m]. With beta == 0, C is
// only written, never read. Each element of C sums its k products in order p = 0, 1, ...
// for small problems, as a plain loop would.
template <typename T>
void gemm(Trans trans_a, Trans trans_b, int m, int n, int k, T alpha, const T* a, int lda,
          const T* b, int ldb, T beta, T* c, int ldc);

// out[j] += sum over rows i of a[i, j], for a [rows, cols] row-major.
template <typename T>
void add_column_sums(int rows, int cols, const T* a, T* out);

}  // namespace recur
