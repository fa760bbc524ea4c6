// std::vector's allocator for storage that the kernels read a 512-bit vector at a time:
// 64-byte aligned, a cache line, so that no whole-vector load spans two lines. (malloc
// aligns to 16 bytes, and a large block, which it maps, starts 16 bytes into a page: every
// 64-byte load of such a buffer then touched two lines.) Buffers of kHugeFrom bytes or more
// are laid on 2 MB pages where the system allows (cache_aligned.cpp). A public header only
// because Network keeps its parameters and gradients in such buffers (network.hpp).
#pragma once

#include <cstddef>
#include <vector>

namespace recur {

// From this size on (a quarter of the Zen hosts' L2), a buffer takes whole 2 MB pages.
inline constexpr std::size_t kHugeFrom = std::size_t{256} << 10;

// `bytes` of storage aligned to a cache line (to 2 MB, and rounded up to a multiple of it,
// from kHugeFrom on, on Linux); throws std::bad_alloc. Freed by free_aligned with the same
// `bytes`.
void* allocate_aligned(std::size_t bytes);
void free_aligned(void* p, std::size_t bytes) noexcept;

template <typename T>
struct CacheAligned {
  using value_type = T;

  CacheAligned() = default;
  template <typename U>
  explicit CacheAligned(const CacheAligned<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(allocate_aligned(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { free_aligned(p, n * sizeof(T)); }
  friend bool operator==(const CacheAligned&, const CacheAligned&) { return true; }
};

// A buffer the kernels and the cells' loops read and write a vector at a time.
template <typename T>
using AlignedVector = std::vector<T, CacheAligned<T>>;

}  // namespace recur
