// The lines a blocked product will read in its next depth block, fetched into L2 a few at a
// time between the kernel calls of the current one (gemm_blocked_columns, packed_gemm.cpp).
// The weight gradients over all steps (dW = dG^T [x, h], dW_o = dy^T h) read their sources
// once, from L3 or memory, k rows at a time: each block of op(B) is packed, and A^T read,
// straight from there, and the pack waited on each row's load (a sixth of dW_o's time) while
// the multiply-adds of the block before had run with the memory idle. Fetched ahead, the
// sources of block p + 1 arrive while block p is multiplied.
#pragma once

#include <cstddef>
#include <cstdint>

namespace recur {

class LinesAhead {
 public:
  static constexpr int kLine = 64;  // bytes
  static constexpr int kMostRegions = 3;

  // Nothing to fetch.
  void clear() { *this = LinesAhead(); }

  // A region of `rows` rows of `bytes` bytes each, `stride` bytes apart, from `first` (an
  // empty one adds nothing). Returns false, adding nothing, when kMostRegions are held.
  bool add(const void* first, std::size_t stride, std::size_t bytes, int rows) {
    if (bytes == 0 || rows <= 0) return true;
    if (count_ == kMostRegions) return false;
    const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(first);
    regions_[count_++] = {at, stride, bytes, rows};
    const auto row_lines = [&](std::size_t r) {
      const std::uintptr_t row = at + r * stride;
      return static_cast<long>((line_of(row + bytes - 1) - line_of(row)) / kLine + 1);
    };
    if (stride % kLine == 0) {  // every row as the first lies across lines
      lines_ += row_lines(0) * rows;
    } else {
      for (int r = 0; r < rows; ++r) lines_ += row_lines(r);
    }
    return true;
  }

  // Lines of all regions (a line shared by two rows counted for each).
  long lines() const { return lines_; }

  // Each later issue() hands out at most lines() / calls + 1 lines (all of them for calls
  // <= 0): all are out by the calls-th.
  void spread_over(long calls) { per_call_ = calls > 0 ? lines_ / calls + 1 : lines_; }

  // The next lines, region by region in the order added, row by row, front to back, each
  // handed to fetch(line); no more once all were.
  template <typename Fetch>
  void issue(Fetch&& fetch) {
    for (long left = per_call_; left > 0 && region_ < count_; --left) {
      const Region& g = regions_[region_];
      const std::uintptr_t row = g.first + static_cast<std::size_t>(row_) * g.stride;
      if (next_ == 0) next_ = line_of(row);
      fetch(reinterpret_cast<const char*>(next_));
      next_ += kLine;
      if (next_ > row + g.bytes - 1) {  // the row's last line fetched
        next_ = 0;
        if (++row_ == g.rows) row_ = 0, ++region_;
      }
    }
  }

  // With prefetcht1: a hint to bring the line to L2 (L1 holds the current block's panel).
  void issue() {
    issue([](const char* line) { __builtin_prefetch(line, 0, 2); });
  }

 private:
  // Addresses as integers: a row's first line may begin before its matrix, and the cursor
  // steps past its end.
  struct Region {
    std::uintptr_t first;
    std::size_t stride, bytes;
    int rows;
  };

  static std::uintptr_t line_of(std::uintptr_t p) { return p - p % kLine; }

  Region regions_[kMostRegions] = {};
  int count_ = 0, region_ = 0, row_ = 0;
  long lines_ = 0, per_call_ = 0;
  std::uintptr_t next_ = 0;  // the current row's next line; 0: its first
};

}  // namespace recur
