// Optimizers: update a flat parameter buffer from the flat gradient buffer of the same
// layout, with PyTorch's torch.optim semantics (1.13), and gradient clipping by global norm.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace recur {

enum class OptimizerKind { kSgd, kAdam, kAdamW, kRmsprop };

struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::kSgd;
  double learning_rate = 1e-2;
  double weight_decay = 0.0;          // L2 added to the gradient; AdamW decays the weights directly
  double momentum = 0.0;              // sgd, rmsprop
  bool nesterov = false;              // sgd, with momentum
  double beta1 = 0.9, beta2 = 0.999;  // adam, adamw
  double alpha = 0.99;                // rmsprop's smoothing
  double eps = 1e-8;                  // adam, adamw, rmsprop
};

// "sgd", "adam", "adamw" or "rmsprop"; throws Error otherwise.
OptimizerKind parse_optimizer(const std::string& name);
const char* optimizer_name(OptimizerKind kind);

// One optimizer over one flat buffer. Its state (momentum, moments) has the buffer's layout,
// so an update is one loop over arrays:
//   sgd      g += wd p; b = m b + g (b = g at first); g = nesterov ? g + m b : b; p -= lr g
//   adam     g += wd p; m1 = b1 m1 + (1 - b1) g; m2 = b2 m2 + (1 - b2) g^2;
//            p -= lr / (1 - b1^t) * m1 / (sqrt(m2) / sqrt(1 - b2^t) + eps)
//   adamw    p *= 1 - lr wd, then adam without wd
//   rmsprop  g += wd p; s = a s + (1 - a) g^2; d = g / (sqrt(s) + eps);
//            with momentum b = m b + d, p -= lr b; without, p -= lr d
template <typename T>
class Optimizer {
 public:
  // Throws Error for a learning rate that is not finite and > 0, or another setting out of
  // its range.
  Optimizer(const OptimizerSettings& settings, std::size_t parameter_count);

  void step(std::span<T> params, std::span<const T> grads);

  const OptimizerSettings& settings() const { return settings_; }
  void set_learning_rate(double learning_rate);  // for schedules: finite and >= 0
  std::int64_t steps_taken() const { return steps_; }

  // The state, for checkpoints: each buffer is empty or has the parameters' layout.
  std::span<const T> first_state() const { return first_; }
  std::span<const T> second_state() const { return second_; }
  // Puts back a state saved from an optimizer of the same settings and size; throws Error if
  // the sizes do not match what these settings keep.
  void restore(std::int64_t steps, std::span<const T> first, std::span<const T> second);

 private:
  OptimizerSettings settings_;
  std::int64_t steps_ = 0;
  std::vector<T> first_;   // momentum buffer, or Adam's first moment
  std::vector<T> second_;  // Adam's second moment, or RMSprop's square average
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

// The L2 norm of the whole buffer, accumulated in double.
template <typename T>
double global_norm(std::span<const T> values);

// torch.nn.utils.clip_grad_norm_(max_norm): scales grads by max_norm / (norm + 1e-6) when
// that is below 1. Returns the global L2 norm before clipping (accumulated in double).
template <typename T>
double clip_grad_norm(std::span<T> grads, double max_norm);

}  // namespace recur
