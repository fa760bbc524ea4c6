// A run-time count mapped onto a kernel compiled for that count: with_count<kMax>(n, f) calls
// f.template operator()<n>() for 1 <= n <= kMax and does nothing otherwise. The register-blocked
// kernels (packed_kernels.hpp, gemm.cpp's column sums) keep their accumulators in arrays sized by
// a template argument, so each remainder size needs its own instantiation.
//
// The counts are tried from kMax down, so the full count (the common case) costs one
// comparison, and the chain is forced inline: left to itself GCC 12 kept it as a function
// that reached the caller's arguments through pointers, which cost the small LSTM step 1.5%.
#pragma once

namespace recur {

template <int kMax, typename F>
[[gnu::always_inline]] inline void with_count(int n, F&& f) {
  if (n == kMax) {
    f.template operator()<kMax>();
  } else if constexpr (kMax > 1) {
    with_count<kMax - 1>(n, f);
  }
}

}  // namespace recur
