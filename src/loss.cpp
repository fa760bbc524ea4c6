#include "recur/loss.hpp"

#include <string>

#include "recur/error.hpp"

namespace recur {

template <typename T>
double sse_loss(std::span<const T> y, std::span<const T> target, std::span<T> dy) {
  if (y.size() != target.size() || y.size() != dy.size()) {
    throw Error("sse_loss: y, target and dy must have the same size, got " +
                std::to_string(y.size()) + ", " + std::to_string(target.size()) + " and " +
                std::to_string(dy.size()));
  }
  double sum = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const T diff = y[i] - target[i];
    dy[i] = diff;
    sum += static_cast<double>(diff) * static_cast<double>(diff);
  }
  return 0.5 * sum;
}

template double sse_loss<float>(std::span<const float>, std::span<const float>, std::span<float>);
template double sse_loss<double>(std::span<const double>, std::span<const double>,
                                 std::span<double>);

}  // namespace recur
