#include "recur/loss.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "recur/error.hpp"

namespace recur {

LossKind parse_loss(const std::string& name) {
  if (name == "sse") return LossKind::kSse;
  if (name == "mse") return LossKind::kMse;
  if (name == "cross-entropy") return LossKind::kCrossEntropy;
  throw Error("loss: expected sse, mse or cross-entropy, got '" + name + "'");
}

const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::kMse:
      return "mse";
    case LossKind::kCrossEntropy:
      return "cross-entropy";
    case LossKind::kSse:
      break;
  }
  return "sse";
}

namespace {

// -sum(target * log_softmax(y)) of one step, with dLoss/dy = softmax(y) * sum(target) -
// target written to dy (unscaled).
template <typename T>
double cross_entropy_step(const T* y, const T* target, T* dy, std::size_t features) {
  double top = static_cast<double>(y[0]);
  for (std::size_t f = 1; f < features; ++f) top = std::max(top, static_cast<double>(y[f]));
  double sum_exp = 0.0, mass = 0.0;
  for (std::size_t f = 0; f < features; ++f) {
    sum_exp += std::exp(static_cast<double>(y[f]) - top);
    mass += static_cast<double>(target[f]);
  }
  const double log_sum = top + std::log(sum_exp);
  double loss = 0.0;
  for (std::size_t f = 0; f < features; ++f) {
    const double t = static_cast<double>(target[f]);
    const double log_p = static_cast<double>(y[f]) - log_sum;
    if (t != 0.0) loss -= t * log_p;
    dy[f] = static_cast<T>(std::exp(log_p) * mass - t);
  }
  return loss;
}

}  // namespace

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
      if (kind == LossKind::kCrossEntropy) {
        if (real) {
          sum += cross_entropy_step(y.data() + at, target.data() + at, dy.data() + at, features);
          ++count;
        } else {
          std::fill(dy.begin() + at, dy.begin() + at + features, T(0));
        }
        continue;
      }
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
  const T scale = static_cast<T>((kind == LossKind::kMse ? 2.0 : 1.0) / static_cast<double>(count));
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
