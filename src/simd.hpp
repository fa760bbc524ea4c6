// The vector registers the build's target has (-march=native by default, RECUR_NATIVE), for
// the kernels whose tile must fit them: the packed product's accumulators (packed_kernels.hpp)
// and the column sums. A GCC vector wider than the target's registers still compiles, split
// into narrower ones, but a tile sized for 32 AVX-512 registers then needs 32 AVX2 ones of
// the 16 there are, and GCC keeps most of it on the stack: on a Zen 3 host (AVX2) the packed
// product with 64-byte vectors ran at 3.5 GFLOP/s, 20-30 times slower than oneDNN's sgemm.
#pragma once

namespace recur {

#if defined(__AVX512F__)
constexpr int kNativeBytes = 64;
constexpr int kNativeRegisters = 32;
#elif defined(__AVX__)
constexpr int kNativeBytes = 32;
constexpr int kNativeRegisters = 16;
#else
constexpr int kNativeBytes = 16;
constexpr int kNativeRegisters = 16;
#endif

// One register of T.
template <typename T>
using NativeVector [[gnu::vector_size(kNativeBytes)]] = T;
template <typename T>
constexpr int kNativeLanes = kNativeBytes / static_cast<int>(sizeof(T));

}  // namespace recur
