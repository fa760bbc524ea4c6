// Losses: the value and its gradient with respect to the predictions, in one pass.
#pragma once

#include <span>

namespace recur {

// Sum of squared errors, as the seed notebook computes it:
//   loss = 0.5 * sum((y - target)^2),   dy = y - target.
// Accumulated in double whatever T is. Throws Error if the sizes differ.
template <typename T>
double sse_loss(std::span<const T> y, std::span<const T> target, std::span<T> dy);

}  // namespace recur
