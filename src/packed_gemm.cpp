#include "packed_gemm.hpp"

#include <algorithm>
#include <cstring>

namespace recur {

namespace {

template <typename T>
using Vector [[gnu::vector_size(64)]] = T;

// C[i0 .. i0 + R, panel columns] for one panel: R rows of A against the panel's k rows, two
// vectors of accumulators per row.
template <int R, typename T>
inline void panel_kernel(int k, const T* a, int lda, const T* panel, T beta, T* c, int ldc,
                         int width) {
  constexpr int L = 64 / sizeof(T);
  Vector<T> acc[R][2] = {};
  for (int p = 0; p < k; ++p) {
    Vector<T> b0, b1;
    std::memcpy(&b0, panel + p * 2 * L, sizeof b0);
    std::memcpy(&b1, panel + p * 2 * L + L, sizeof b1);
    for (int r = 0; r < R; ++r) {
      const T a_rp = a[r * lda + p];
      acc[r][0] += a_rp * b0;
      acc[r][1] += a_rp * b1;
    }
  }
  for (int r = 0; r < R; ++r) {
    T out[2 * L];
    std::memcpy(out, acc[r], sizeof out);
    T* c_row = c + r * ldc;
    if (beta == T(0)) {
      for (int j = 0; j < width; ++j) c_row[j] = out[j];
    } else {
      for (int j = 0; j < width; ++j) c_row[j] = out[j] + beta * c_row[j];
    }
  }
}

template <typename T>
void rows_kernel(int rows, int k, const T* a, int lda, const T* panel, T beta, T* c, int ldc,
                 int width) {
  switch (rows) {
    case 1: return panel_kernel<1>(k, a, lda, panel, beta, c, ldc, width);
    case 2: return panel_kernel<2>(k, a, lda, panel, beta, c, ldc, width);
    case 3: return panel_kernel<3>(k, a, lda, panel, beta, c, ldc, width);
    case 4: return panel_kernel<4>(k, a, lda, panel, beta, c, ldc, width);
    case 5: return panel_kernel<5>(k, a, lda, panel, beta, c, ldc, width);
    case 6: return panel_kernel<6>(k, a, lda, panel, beta, c, ldc, width);
    case 7: return panel_kernel<7>(k, a, lda, panel, beta, c, ldc, width);
    default: return panel_kernel<8>(k, a, lda, panel, beta, c, ldc, width);
  }
}

}  // namespace

template <typename T>
void PackedMatrix<T>::pack(Trans trans, int k, int n, const T* b, int ldb) {
  k_ = k;
  n_ = n;
  const int panels = (n + kPanel - 1) / kPanel;
  const std::size_t size = static_cast<std::size_t>(panels) * k * kPanel;
  if (data_.size() < size) data_.resize(size);
  for (int jp = 0; jp < panels; ++jp) {
    T* out = data_.data() + static_cast<std::size_t>(jp) * k * kPanel;
    for (int p = 0; p < k; ++p) {
      for (int j = 0; j < kPanel; ++j) {
        const int col = jp * kPanel + j;
        out[p * kPanel + j] =
            col >= n ? T(0) : trans == Trans::kYes ? b[col * ldb + p] : b[p * ldb + col];
      }
    }
  }
}

template <typename T>
void gemm_packed(int m, const T* a, int lda, const PackedMatrix<T>& b, T beta, T* c, int ldc) {
  constexpr int kRows = 8, W = PackedMatrix<T>::kPanel;
  const int k = b.rows(), n = b.cols();
  for (int j0 = 0, jp = 0; j0 < n; j0 += W, ++jp) {
    const int width = std::min(W, n - j0);
    for (int i0 = 0; i0 < m; i0 += kRows) {
      rows_kernel(std::min(kRows, m - i0), k, a + static_cast<std::size_t>(i0) * lda, lda,
                  b.panel(jp), beta, c + static_cast<std::size_t>(i0) * ldc + j0, ldc, width);
    }
  }
}

#define RECUR_INSTANTIATE(T)   \
  template class PackedMatrix<T>; \
  template void gemm_packed<T>(int, const T*, int, const PackedMatrix<T>&, T, T*, int);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
#undef RECUR_INSTANTIATE

}  // namespace recur
