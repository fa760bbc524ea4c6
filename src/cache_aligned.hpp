// std::vector's allocator for storage that the kernels read a 512-bit vector at a time:
// 64-byte aligned, a cache line, so that no whole-vector load spans two lines. (malloc
// aligns to 16 bytes, and a large block, which it maps, starts 16 bytes into a page: every
// 64-byte load of such a buffer then touched two lines.)
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace recur {

template <typename T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};

  CacheAligned() = default;
  template <typename U>
  explicit CacheAligned(const CacheAligned<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  // Unsized: clang before 19 does not declare the sized aligned delete by default.
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlignment); }
  friend bool operator==(const CacheAligned&, const CacheAligned&) { return true; }
};

// A buffer the kernels and the cells' loops read and write a vector at a time.
template <typename T>
using AlignedVector = std::vector<T, CacheAligned<T>>;

}  // namespace recur
