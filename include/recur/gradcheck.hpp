// Gradient checking: BPTT gradients against central finite differences of the SSE loss.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "recur/network.hpp"

namespace recur {

// What a forward sees besides the parameters: lengths and initial state as Network::forward
// takes them, and, for a network with dropout, the seed of the mask (the network is then put
// in training mode and reseeded before every forward, so that each one draws the same mask).
struct GradcheckInputs {
  std::span<const int> lengths;
  std::span<const double> state0;
  bool dropout = false;
  std::uint32_t dropout_seed = 0;
};

// dLoss/dparameters of the SSE loss of `network` on (x, target) [seq_len, batch, *], by
// fourth-order central differences, one parameter at a time:
//   (8 (L(p + eps) - L(p - eps)) - (L(p + 2 eps) - L(p - 2 eps))) / (12 eps)
// The losses are evaluated on a copy of the network in extended precision (long double), so
// that rounding in L (about 1e-16 L / eps in double) stays far below the gradients' own
// rounding even when they are tiny next to L, as they are with the seed's 0.01 weights; the
// O(eps^4) truncation error is negligible at eps = 1e-5. Same layout as network.gradients().
std::vector<double> numeric_gradients(const Network<double>& network, std::span<const double> x,
                                      std::span<const double> target, int seq_len, int batch_size,
                                      double eps, const GradcheckInputs& inputs = {});

struct TensorError {
  std::string name;
  double max_relative_error = 0.0;
};

// For each tensor of `tensors`, the largest |analytic - numeric| / max(|analytic|, |numeric|,
// floor) over its elements, where floor = 1e-3 * the tensor's largest |numeric| (and at least
// 1e-12), so that elements near zero are judged against the tensor's own scale rather than
// against finite-difference noise. Both buffers have the layout `tensors` describes.
std::vector<TensorError> compare_gradients(const std::vector<TensorInfo>& tensors,
                                           std::span<const double> analytic,
                                           std::span<const double> numeric);

}  // namespace recur
