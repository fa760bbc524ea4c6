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
  void clear() { count_ = region_ = row_ = 0, lines_ = 0, per_call_ = 0, next_ = nullptr; }

  // A region of `rows` rows of `bytes` bytes each, `stride` bytes apart, from `first`.
  // Returns false (and adds nothing) when kMostRegions are already held.
  bool add(const void* first, std::size_t stride, std::size_t bytes, int rows) {
    if (count_ == kMostRegions) return false;
    if (bytes == 0 || rows <= 0) return true;
    regions_[count_++] = {static_cast<const char*>(first), stride, bytes, rows};
    const auto row_lines = [&](int r) {
      const char* start = static_cast<const char*>(first) + r * stride;
      return (line_of(start + bytes - 1) - line_of(start)) / kLine + 1;
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

  // Spread the lines over `calls` calls of issue(): each fetches at most this many.
  void spread_over(long calls) { per_call_ = calls > 0 ? lines_ / calls + 1 : lines_; }

  // The next lines, region by region, row by row, front to back, each handed to fetch(line);
  // no more once all were.
  template <typename Fetch>
  void issue(Fetch&& fetch) {
    for (long left = per_call_; left > 0 && region_ < count_; --left) {
      const Region& g = regions_[region_];
      const char* start = g.first + row_ * g.stride;
      if (next_ == nullptr) next_ = line_of(start);
      fetch(next_);
      next_ += kLine;
      if (next_ > start + g.bytes - 1) {  // the row's last line fetched
        next_ = nullptr;
        if (++row_ == g.rows) row_ = 0, ++region_;
      }
    }
  }

  // Into L2 (not L1, which holds the current block's panel).
  void issue() {
    issue([](const char* line) { __builtin_prefetch(line, 0, 2); });
  }

 private:
  struct Region {
    const char* first;
    std::size_t stride, bytes;
    int rows;
  };

  static const char* line_of(const char* p) {
    return p - reinterpret_cast<std::uintptr_t>(p) % kLine;
  }

  Region regions_[kMostRegions] = {};
  int count_ = 0, region_ = 0, row_ = 0;
  long lines_ = 0, per_call_ = 0;
  const char* next_ = nullptr;  // the current row's next line; null: its first
};

}  // namespace recur
