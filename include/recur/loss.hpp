// Losses: the value and its gradient with respect to the predictions, in one pass.
#pragma once

#include <span>
#include <string>

namespace recur {

// Sum of squared errors, as the seed notebook computes it:
//   loss = 0.5 * sum((y - target)^2),   dy = y - target.
// Accumulated in double whatever T is. Throws Error if the sizes differ.
template <typename T>
double sse_loss(std::span<const T> y, std::span<const T> target, std::span<T> dy);

enum class LossKind {
  kSse,  // 0.5 * sum((y - target)^2), the seed's
  kMse,  // mean((y - target)^2) over the real (unpadded) values, torch.nn.MSELoss's
  // -sum(target * log_softmax(y)) per step, the mean over real steps: y holds a class's
  // logits and target its one-hot class (or any distribution), torch.nn.CrossEntropyLoss's
  kCrossEntropy,
};

// "sse", "mse" or "cross-entropy"; throws Error naming the text otherwise.
LossKind parse_loss(const std::string& name);
const char* loss_name(LossKind kind);

// What one counted step adds to a loss's denominator: its features (sse, mse) or 1 (one
// class per step, cross-entropy).
inline double counted_per_step(LossKind kind, int features) {
  return kind == LossKind::kCrossEntropy ? 1.0 : features;
}

// The loss of y against target, both [seq_len, batch, features], counting only steps
// first[b] <= t < lengths[b] of each sequence b (lengths empty: all steps; first empty: from
// 0), and dLoss/dy, which is zero at every step not counted. Accumulated in double.
// Cross-entropy's softmax is taken over each step's features, shifted by their maximum.
// first[b] = lengths[b] - 1 counts the last step only (many-to-one training).
template <typename T>
double masked_loss(LossKind kind, std::span<const T> y, std::span<const T> target, std::span<T> dy,
                   int seq_len, int batch_size, std::span<const int> lengths,
                   std::span<const int> first = {});

}  // namespace recur
