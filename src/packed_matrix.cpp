// PackedMatrix's packing: op(B) laid out in panels of kPanel columns, each panel's k rows
// contiguous (packed_gemm.hpp), from B as it is or transposed, from two sources stacked, or
// from blocks of columns of either source (the GRU's fused step product).
#include <algorithm>
#include <cstring>

#include "packed_gemm.hpp"
#include "thread_pool.hpp"

namespace recur {

namespace {

// Parts for packing op(B) of `bytes`: from 4 MB on (1 MB while the workers still spin), op(B) is
// packed by all the free threads, each its own rows (B as it is) or panels (transposed): the
// weights packed once a sequence, which the caller had packed alone while the workers spun, and
// which a sleeping worker is worth waking for (tens of us). On two threads of the Zen 5
// host: 1280 x 4096 transposed 3.8 ms to 1.8, as it is 2.2 to 1.2; 1280 x 1024 transposed
// 0.44 to 0.29; 320 x 1024 0.105 to 0.067 (a /tmp program, the workers awake).
int packing_parts(long bytes) {
  return bytes >= (workers_awake() ? 1L << 20 : 4L << 20) ? free_threads() : 1;
}

// Rows of a panel filled at a time from a transposed source (pack_part, pack_blocks_panel).
constexpr int kTile = 64;

}  // namespace

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
  const int panels = this->panels();
  rows_.assign(2 * static_cast<std::size_t>(panels), k1);  // each part sets its own panels'
  const long bytes = static_cast<long>(k_) * n_ * static_cast<long>(sizeof(T));
  const int parts = packing_parts(bytes);
  auto part = [&](int t) {
    for (int jp = split(panels, parts, t); jp < split(panels, parts, t + 1); ++jp) {
      pack_blocks_panel(jp, k1, ldb1, ldb2, blocks);
    }
  };
  parallel_for_parts(parts, part);
  copy_narrow_columns();
}

// Panel jp of pack_stacked's blocks: each column's rows of B1 and of B2 (or zeros where its
// block has none, and in the columns past n), kTile rows at a time as pack_part copies a
// transposed B; and the panel's [first, last) rows, those some column of it has values in.
// The large GRU's (1280 x 4096, 21 MB) had been zeroed whole and then filled a column over
// all k at a time, on the caller alone: 4.4-4.5 ms, now 1.5-1.6 on two threads and 3.5 on
// one (Zen 5, a `/tmp` program).
template <typename T>
void PackedMatrix<T>::pack_blocks_panel(int jp, int k1, int ldb1, int ldb2,
                                        std::initializer_list<Block> blocks) {
  const T* sources[2][kPanel] = {};  // column j's row of B1 and of B2, or none
  bool any[2] = {false, false};
  int block_begin = 0;
  for (const Block& block : blocks) {
    const int j0 = std::max(block_begin, jp * kPanel);
    const int j1 = std::min(block_begin + block.width, (jp + 1) * kPanel);
    for (int j = j0; j < j1; ++j) {
      const std::size_t c = static_cast<std::size_t>(j - block_begin);
      if (block.b1 != nullptr) sources[0][j - jp * kPanel] = block.b1 + c * ldb1;
      if (block.b2 != nullptr) sources[1][j - jp * kPanel] = block.b2 + c * ldb2;
      any[0] = any[0] || block.b1 != nullptr;
      any[1] = any[1] || block.b2 != nullptr;
    }
    block_begin += block.width;
  }
  rows_[2 * jp] = any[0] ? 0 : k1;
  rows_[2 * jp + 1] = any[1] ? k_ : k1;
  T* const out = data_.data() + static_cast<std::size_t>(jp) * k_ * kPanel;
  for (int s = 0; s < 2; ++s) {  // rows [0, k1) from B1, then [k1, k_) from B2
    const int begin = s == 0 ? 0 : k1, end = s == 0 ? k1 : k_;
    for (int p0 = begin; p0 < end; p0 += kTile) {
      const int p1 = std::min(end, p0 + kTile);
      for (int j = 0; j < kPanel; ++j) {
        const T* source = sources[s][j];
        if (source == nullptr) {
          for (int p = p0; p < p1; ++p) out[p * kPanel + j] = T(0);
        } else {
          for (int p = p0; p < p1; ++p) out[p * kPanel + j] = source[p - begin];
        }
      }
    }
  }
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
  const long bytes = static_cast<long>(k) * n_ * static_cast<long>(sizeof(T));
  const int parts = packing_parts(bytes);
  auto part = [&](int t) { pack_part(trans, row0, k, b, ldb, t, parts); };
  parallel_for_parts(parts, part);
}

template <typename T>
void PackedMatrix<T>::pack_part(Trans trans, int row0, int k, const T* b, int ldb, int part,
                                int parts) {
  const int panels = this->panels(), whole = n_ / kPanel, tail = n_ - whole * kPanel;
  const std::size_t panel_size = static_cast<std::size_t>(k_) * kPanel;
  T* const out0 = data_.data() + static_cast<std::size_t>(row0) * kPanel;
  if (trans == Trans::kNo) {
    // op(B)'s rows are B's: each row read once, front to back, its slices sent to their
    // panels. Panel by panel instead, each panel's pass read a slice of every row, a
    // row's lines on as many passes as there are panels: the readout's dW_o = dy^T h
    // (64 x 256 x 6400), which packs all of h for 64 rows of C, spent a third of its time
    // packing, and ran at 80 GFLOP/s this way against 65 (one thread, Zen 4).
    for (int p = split(k, parts, part); p < split(k, parts, part + 1); ++p) {
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
  // op(B)'s columns are B's rows: each read once, kTile of its values at a time, so that the
  // panel's kTile rows being filled (8 KB in float) stay in L1 while its columns come in.
  // Column by column over all k, each column's pass touched a new line of the panel at every
  // value: the large LSTM's fused forward weights (1280 x 4096, packed once a sequence) took
  // 4.8 ms, 3.7 this way (one thread, Zen 5; 3.6-3.7 at 32 or 128 rows, 5.3 at 16; copying
  // B as it is, 2.2); 1280 x 1024 0.87 ms and 0.50, 1280 x 3072 3.39 and 2.66.
  for (int jp = split(panels, parts, part); jp < split(panels, parts, part + 1); ++jp) {
    T* out = out0 + jp * panel_size;
    const int j0 = jp * kPanel, width = std::min(kPanel, n_ - j0);
    for (int p0 = 0; p0 < k; p0 += kTile) {
      const int p1 = std::min(k, p0 + kTile);
      for (int j = 0; j < width; ++j) {
        const T* column = b + static_cast<std::size_t>(j0 + j) * ldb;
        for (int p = p0; p < p1; ++p) out[p * kPanel + j] = column[p];
      }
    }
    for (int p = 0; width < kPanel && p < k; ++p) {
      std::fill(out + p * kPanel + width, out + (p + 1) * kPanel, T(0));
    }
  }
}

template class PackedMatrix<float>;
template class PackedMatrix<double>;

}  // namespace recur
