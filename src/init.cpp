#include "recur/init.hpp"

#include <algorithm>
#include <cmath>

namespace recur {

namespace {

// Draws a numpy (rows, cols) matrix times scale and stores its transpose in `out` (cols, rows).
template <typename T>
void draw_transposed(NumpyRandom& random, int rows, int cols, double scale, std::span<T> out) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) out[c * rows + r] = static_cast<T>(random.randn() * scale);
  }
}

}  // namespace

template <typename T>
void init_numpy(Network<T>& network, NumpyRandom& random, double init_scale) {
  const NetworkConfig& c = network.config();
  std::fill(network.parameters().begin(), network.parameters().end(), T(0));
  draw_transposed(random, c.input_size, c.hidden_size, init_scale,
                  network.parameter("rnn.weight_ih_l0"));
  draw_transposed(random, c.hidden_size, c.hidden_size, init_scale,
                  network.parameter("rnn.weight_hh_l0"));
  draw_transposed(random, c.hidden_size, c.output_size, init_scale,
                  network.parameter("readout.weight"));
}

template void init_numpy<float>(Network<float>&, NumpyRandom&, double);
template void init_numpy<double>(Network<double>&, NumpyRandom&, double);

template <typename T>
void init_pytorch(Network<T>& network, NumpyRandom& random) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(network.config().hidden_size));
  for (T& p : network.parameters()) {
    p = static_cast<T>((2.0 * random.random_sample() - 1.0) * bound);
  }
}

template void init_pytorch<float>(Network<float>&, NumpyRandom&);
template void init_pytorch<double>(Network<double>&, NumpyRandom&);

}  // namespace recur
