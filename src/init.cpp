#include "recur/init.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "recur/error.hpp"

namespace recur {

namespace {

// Draws a numpy (rows, cols) matrix times scale and stores its transpose in `out` (cols, rows).
template <typename T>
void draw_transposed(NumpyRandom& random, int rows, int cols, double scale, std::span<T> out) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) out[c * rows + r] = static_cast<T>(random.randn() * scale);
  }
}

bool is_weight(const TensorInfo& t) {
  return t.shape.size() == 2;
}
bool is_recurrent_weight(const TensorInfo& t) {
  return t.name.starts_with("rnn.weight_hh");
}

template <typename T>
std::span<T> values(Network<T>& network, const TensorInfo& t) {
  return network.parameters().subspan(t.offset, t.size);
}

}  // namespace

template <typename T>
void init_numpy(Network<T>& network, NumpyRandom& random, double init_scale) {
  std::fill(network.parameters().begin(), network.parameters().end(), T(0));
  for (const TensorInfo& t : network.tensors()) {
    if (is_weight(t))
      draw_transposed(random, t.shape[1], t.shape[0], init_scale, values(network, t));
  }
}

template void init_numpy<float>(Network<float>&, NumpyRandom&, double);
template void init_numpy<double>(Network<double>&, NumpyRandom&, double);

template <typename T>
void init_pytorch(Network<T>& network, NumpyRandom& random) {
  const NetworkConfig& c = network.config();
  const double rnn_bound = 1.0 / std::sqrt(static_cast<double>(c.hidden_size));
  const double readout_bound = 1.0 / std::sqrt(static_cast<double>(c.directions() * c.hidden_size));
  for (const TensorInfo& t : network.tensors()) {
    const double bound = t.name.starts_with("rnn.") ? rnn_bound : readout_bound;
    for (T& p : values(network, t))
      p = static_cast<T>((2.0 * random.random_sample() - 1.0) * bound);
  }
}

template <typename T>
void init_xavier(Network<T>& network, NumpyRandom& random) {
  std::fill(network.parameters().begin(), network.parameters().end(), T(0));
  for (const TensorInfo& t : network.tensors()) {
    if (!is_weight(t)) continue;
    const double bound = std::sqrt(6.0 / (t.shape[0] + t.shape[1]));
    for (T& w : values(network, t))
      w = static_cast<T>((2.0 * random.random_sample() - 1.0) * bound);
  }
}

template <typename T>
void init_orthogonal(Network<T>& network, NumpyRandom& random) {
  init_xavier(network, random);
  const int H = network.config().hidden_size;
  for (const TensorInfo& t : network.tensors()) {
    if (!is_recurrent_weight(t)) continue;
    std::span<T> weight_hh = values(network, t);
    for (int gate = 0; gate < t.shape[0] / H; ++gate) {  // each gate's H x H block
      Eigen::MatrixXd gaussian(H, H);
      for (int i = 0; i < H; ++i) {
        for (int j = 0; j < H; ++j) gaussian(i, j) = random.randn();
      }
      const Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
      Eigen::MatrixXd q = qr.householderQ();
      const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
      for (int j = 0; j < H; ++j) {
        if (r(j, j) < 0) q.col(j) = -q.col(j);  // a unique Q, uniformly distributed
      }
      T* block = weight_hh.data() + static_cast<std::size_t>(gate) * H * H;
      for (int i = 0; i < H; ++i) {
        for (int j = 0; j < H; ++j) block[i * H + j] = static_cast<T>(q(i, j));
      }
    }
  }
}

InitMethod parse_init_method(const std::string& name) {
  if (name == "numpy") return InitMethod::kNumpy;
  if (name == "pytorch") return InitMethod::kPytorch;
  if (name == "xavier") return InitMethod::kXavier;
  if (name == "orthogonal") return InitMethod::kOrthogonal;
  throw Error("init: expected numpy, pytorch, xavier or orthogonal, got '" + name + "'");
}

template <typename T>
void initialize(Network<T>& network, InitMethod method, NumpyRandom& random) {
  switch (method) {
    case InitMethod::kNumpy:
      return init_numpy(network, random, 0.01);
    case InitMethod::kPytorch:
      return init_pytorch(network, random);
    case InitMethod::kXavier:
      return init_xavier(network, random);
    case InitMethod::kOrthogonal:
      return init_orthogonal(network, random);
  }
}

#define RECUR_INSTANTIATE(T)                                   \
  template void init_xavier<T>(Network<T>&, NumpyRandom&);     \
  template void init_orthogonal<T>(Network<T>&, NumpyRandom&); \
  template void initialize<T>(Network<T>&, InitMethod, NumpyRandom&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
#undef RECUR_INSTANTIATE

template void init_pytorch<float>(Network<float>&, NumpyRandom&);
template void init_pytorch<double>(Network<double>&, NumpyRandom&);

}  // namespace recur
