// Storage for AlignedVector: cache lines, or whole 2 MB pages for a large buffer.
//
// A buffer of 4 KB pages lies wherever the kernel finds free pages, and L2 (1 MB, 16 ways
// of 1024 sets of lines on Zen 4 and 5) is indexed by the physical address: the pages of a
// buffer that should fit it fall unevenly on its sets and evict one another. A 655 KB
// buffer read over and over ran at 140 GB/s on 4 KB pages and 215 on a 2 MB page (Zen 5,
// one core, a throwaway loop of 512-bit loads), and the packed recurrent weights are read
// so, once a step. A 2 MB page also maps 512 times as much: A^T copied out
// of dG reads rows 16 KB apart, a new 4 KB page a row. Whole steps, bench/ab.py against
// 4 KB pages, 7 rounds each (session 26, Zen 5): medium Elman 1.061x and 1.028x (faster in
// 7 and 6 of 7), LSTM 1.035x (7 of 7), GRU 1.042x (5 of 7); charrnn 1.011-1.015x; large GRU
// 1.041x (7 of 7), LSTM 1.014x (6 of 7); the small and large Elman and the streaming steps
// level. It costs up to 2 MB a buffer: a large LSTM step's peak 327 MB against 316, the
// medium LSTM's 82 against 64.
//
// madvise(MADV_HUGEPAGE) asks for the pages where transparent huge pages are enabled "only
// where advised" (Debian's default); where they are always on, the pages come anyway (the
// advice may still have the kernel compact memory to find one); where they are off, or no
// 2 MB page is free, the buffer keeps its 4 KB pages. Off Linux, buffers are only aligned to
// cache lines.
#include "recur/cache_aligned.hpp"

#include <cstdint>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace recur {

namespace {

constexpr std::align_val_t kLine{64};
constexpr std::size_t kHugePage = std::size_t{2} << 20;

#if defined(__linux__) && defined(MADV_HUGEPAGE)
constexpr bool kHugePages = true;
void advise_huge_pages(void* p, std::size_t bytes) {
  madvise(p, bytes, MADV_HUGEPAGE);  // advice: nothing to do if it is not taken
}
#else
constexpr bool kHugePages = false;
void advise_huge_pages(void*, std::size_t) {}
#endif

bool on_huge_pages(std::size_t bytes) {
  return kHugePages && bytes >= kHugeFrom;
}

}  // namespace

void* allocate_aligned(std::size_t bytes) {
  if (!on_huge_pages(bytes)) return ::operator new(bytes, kLine);
  if (bytes > SIZE_MAX - kHugePage) throw std::bad_alloc();
  const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = ::operator new (size, std::align_val_t{kHugePage});
  advise_huge_pages(p, size);
  return p;
}

void free_aligned(void* p, std::size_t bytes) noexcept {
  // Unsized: clang before 19 does not declare the sized aligned delete by default.
  if (on_huge_pages(bytes)) return ::operator delete (p, std::align_val_t{kHugePage});
  ::operator delete(p, kLine);
}

}  // namespace recur
