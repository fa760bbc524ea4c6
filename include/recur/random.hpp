// NumpyRandom: numpy's legacy RandomState stream (np.random.seed / rand / randn), bit for bit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace recur {

// MT19937 seeded by init_genrand, as numpy's RandomState.seed(n) does; doubles with 53 random
// bits; gaussians by the polar Box-Muller method with the spare value cached between calls.
// Drawing the same calls in the same order gives numpy's numbers exactly.
class NumpyRandom {
 public:
  explicit NumpyRandom(std::uint32_t seed = 0) { this->seed(seed); }

  // np.random.seed(seed): resets the generator and forgets any cached gaussian.
  void seed(std::uint32_t seed);
  // One tempered 32-bit output of MT19937 (genrand_int32).
  std::uint32_t next_uint32();
  // np.random.random_sample(): uniform on [0, 1) with 53 random bits.
  double random_sample();
  // np.random.randn(): one standard normal.
  double randn();
  // np.random.randn(*shape) for an array of out.size() elements, filled in C order.
  void randn(std::span<double> out);

 private:
  static constexpr int kStateSize = 624;
  void twist();

  std::array<std::uint32_t, kStateSize> state_{};
  int position_ = kStateSize;
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

}  // namespace recur
