#include "recur/loss.hpp"

#include <string>

#include "recur/error.hpp"

namespace recur {

LossKind parse_loss(const std::string& name) {
  if (name == "sse") return LossKind::kSse;
  if (name == "mse") return LossKind::kMse;
  throw Error("loss: expected sse or mse, got '" + name + "'");
}

const char* loss_name(LossKind kind) {
  return kind == LossKind::kSse ? "sse" : "mse";
}

template <typename T>
double masked_loss(LossKind kind, std::span<const T> y, std::span<const T> target, std::span<T> dy,
                   int seq_len, int batch_size, std::span<const int> lengths,
                   std::span<const int> first) {
  if (y.size() != target.size() || y.size() != dy.size() || seq_len <= 0 || batch_size <= 0 ||
      y.size() % (static_cast<std::size_t>(seq_len) * batch_size) != 0) {
    throw Error("loss: y, target and dy must all be [" + std::to_string(seq_len) + ", " +
                std::to_string(batch_size) + ", features], got " + std::to_string(y.size()) + ", " +
                std::to_string(target.size()) + " and " + std::to_string(dy.size()) + " values");
  }
  if ((!lengths.empty() && lengths.size() != static_cast<std::size_t>(batch_size)) ||
      (!first.empty() && first.size() != static_cast<std::size_t>(batch_size))) {
    throw Error("loss: " + std::to_string(lengths.size()) + " lengths and " +
                std::to_string(first.size()) + " first steps for a batch of " +
                std::to_string(batch_size));
  }
  const std::size_t features = y.size() / (static_cast<std::size_t>(seq_len) * batch_size);
  double sum = 0.0;
  std::size_t count = 0;
  for (int t = 0; t < seq_len; ++t) {
    for (int b = 0; b < batch_size; ++b) {
      const bool real = (lengths.empty() || t < lengths[b]) && (first.empty() || t >= first[b]);
      const std::size_t at = (static_cast<std::size_t>(t) * batch_size + b) * features;
      for (std::size_t f = at; f < at + features; ++f) {
        const T diff = real ? y[f] - target[f] : T(0);
        dy[f] = diff;
        sum += static_cast<double>(diff) * static_cast<double>(diff);
      }
      if (real) count += features;
    }
  }
  if (kind == LossKind::kSse) return 0.5 * sum;
  if (count == 0) return 0.0;  // nothing real in this batch (a chunk past every sequence's end)
  const T scale = static_cast<T>(2.0 / static_cast<double>(count));
  for (T& g : dy) g *= scale;
  return sum / static_cast<double>(count);
}

template <typename T>
double sse_loss(std::span<const T> y, std::span<const T> target, std::span<T> dy) {
  if (y.size() != target.size() || y.size() != dy.size() || y.empty()) {
    throw Error("sse_loss: y, target and dy must have the same, non-zero size, got " +
                std::to_string(y.size()) + ", " + std::to_string(target.size()) + " and " +
                std::to_string(dy.size()));
  }
  // One sequence of y.size() steps of one feature: every value counts.
  return masked_loss<T>(LossKind::kSse, y, target, dy, static_cast<int>(y.size()), 1, {});
}

template double sse_loss<float>(std::span<const float>, std::span<const float>, std::span<float>);
template double sse_loss<double>(std::span<const double>, std::span<const double>,
                                 std::span<double>);
template double masked_loss<float>(LossKind, std::span<const float>, std::span<const float>,
                                   std::span<float>, int, int, std::span<const int>,
                                   std::span<const int>);
template double masked_loss<double>(LossKind, std::span<const double>, std::span<const double>,
                                    std::span<double>, int, int, std::span<const int>,
                                    std::span<const int>);

}  // namespace recur
