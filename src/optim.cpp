#include "recur/optim.hpp"

#include <algorithm>
#include <cmath>

#include "recur/error.hpp"

namespace recur {

namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw Error("optimizer: " + what);
}

}  // namespace

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "adamw") return OptimizerKind::kAdamW;
  if (name == "rmsprop") return OptimizerKind::kRmsprop;
  throw Error("optimizer: expected sgd, adam, adamw or rmsprop, got '" + name + "'");
}

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kAdamW:
      return "adamw";
    case OptimizerKind::kRmsprop:
      return "rmsprop";
  }
  return "?";
}

template <typename T>
Optimizer<T>::Optimizer(const OptimizerSettings& settings, std::size_t parameter_count)
    : settings_(settings) {
  check(std::isfinite(settings.learning_rate) && settings.learning_rate > 0,
        "learning rate must be a finite number > 0, got " + std::to_string(settings.learning_rate));
  const OptimizerSettings& s = settings;
  check(std::isfinite(s.weight_decay) && s.weight_decay >= 0,
        "weight decay must be finite and >= 0, got " + std::to_string(s.weight_decay));
  check(std::isfinite(s.momentum) && s.momentum >= 0 && s.momentum < 1,
        "momentum must be in [0, 1), got " + std::to_string(s.momentum));
  check(!s.nesterov || s.momentum > 0, "nesterov needs a momentum > 0");
  check(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1, "betas must be in [0, 1)");
  check(s.alpha >= 0 && s.alpha < 1, "alpha must be in [0, 1)");
  check(std::isfinite(s.eps) && s.eps >= 0, "eps must be finite and >= 0");
  const bool moments = s.kind == OptimizerKind::kAdam || s.kind == OptimizerKind::kAdamW;
  const bool square = s.kind == OptimizerKind::kRmsprop;
  if (moments || s.momentum > 0) first_.assign(parameter_count, T(0));
  if (moments || square) second_.assign(parameter_count, T(0));
}

template <typename T>
void Optimizer<T>::set_learning_rate(double learning_rate) {
  // A schedule may decay the rate to 0 (torch allows it); a negative or non-finite rate is
  // always a mistake.
  if (!(std::isfinite(learning_rate) && learning_rate >= 0)) {
    throw Error("optimizer: learning rate must be a finite number >= 0, got " +
                std::to_string(learning_rate));
  }
  settings_.learning_rate = learning_rate;
}

template <typename T>
void Optimizer<T>::restore(std::int64_t steps, std::span<const T> first,
                           std::span<const T> second) {
  check(steps >= 0, "restore: negative step count");
  check(first.size() == first_.size() && second.size() == second_.size(),
        "restore: the saved state does not fit these settings and parameters");
  steps_ = steps;
  std::copy(first.begin(), first.end(), first_.begin());
  std::copy(second.begin(), second.end(), second_.begin());
}

template <typename T>
void Optimizer<T>::step(std::span<T> params, std::span<const T> grads) {
  // Messages are built only on failure: a step must not allocate.
  if (params.size() != grads.size()) {
    throw Error("optimizer: " + std::to_string(params.size()) + " parameters but " +
                std::to_string(grads.size()) + " gradients");
  }
  if (!first_.empty() && first_.size() != params.size()) {
    throw Error("optimizer: the parameter count changed since the optimizer was made");
  }
  const OptimizerSettings& s = settings_;
  const T lr = static_cast<T>(s.learning_rate), wd = static_cast<T>(s.weight_decay);
  const T momentum = static_cast<T>(s.momentum);
  const std::size_t n = params.size();
  ++steps_;
  switch (s.kind) {
    case OptimizerKind::kSgd:
      for (std::size_t i = 0; i < n; ++i) {
        T g = wd != T(0) ? grads[i] + wd * params[i] : grads[i];
        if (momentum != T(0)) {
          first_[i] = steps_ == 1 ? g : momentum * first_[i] + g;
          g = s.nesterov ? g + momentum * first_[i] : first_[i];
        }
        params[i] -= lr * g;
      }
      break;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: {
      // The step's scalars in double, as torch.optim computes them in Python.
      const double t = static_cast<double>(steps_);
      const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
      const T step_size = static_cast<T>(s.learning_rate / (1.0 - std::pow(s.beta1, t)));
      const T correction2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(s.beta2, t)));
      const T decay = static_cast<T>(1.0 - s.learning_rate * s.weight_decay);
      const T eps = static_cast<T>(s.eps);
      const bool decoupled = s.kind == OptimizerKind::kAdamW;
      for (std::size_t i = 0; i < n; ++i) {
        T g = grads[i];
        if (decoupled) {
          params[i] *= decay;
        } else if (wd != T(0)) {
          g += wd * params[i];
        }
        first_[i] = b1 * first_[i] + (T(1) - b1) * g;
        second_[i] = b2 * second_[i] + (T(1) - b2) * g * g;
        const T denom = std::sqrt(second_[i]) / correction2_sqrt + eps;
        params[i] -= (step_size * first_[i]) / denom;
      }
      break;
    }
    case OptimizerKind::kRmsprop: {
      const T alpha = static_cast<T>(s.alpha), eps = static_cast<T>(s.eps);
      for (std::size_t i = 0; i < n; ++i) {
        const T g = wd != T(0) ? grads[i] + wd * params[i] : grads[i];
        second_[i] = alpha * second_[i] + (T(1) - alpha) * g * g;
        const T avg = std::sqrt(second_[i]) + eps;
        if (momentum != T(0)) {
          first_[i] = momentum * first_[i] + g / avg;
          params[i] -= lr * first_[i];
        } else {
          params[i] -= (lr * g) / avg;
        }
      }
      break;
    }
  }
}

template <typename T>
double global_norm(std::span<const T> values) {
  double sum = 0.0;
  for (T v : values) sum += static_cast<double>(v) * static_cast<double>(v);
  return std::sqrt(sum);
}

template <typename T>
double clip_grad_norm(std::span<T> grads, double max_norm) {
  if (!(std::isfinite(max_norm) && max_norm > 0)) {
    throw Error("clip: max norm must be finite and > 0, got " + std::to_string(max_norm));
  }
  const double norm = global_norm(std::span<const T>(grads));
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1.0) {
    const T c = static_cast<T>(coefficient);
    for (T& g : grads) g *= c;
  }
  return norm;
}

template class Optimizer<float>;
template class Optimizer<double>;
template double global_norm<float>(std::span<const float>);
template double global_norm<double>(std::span<const double>);
template double clip_grad_norm<float>(std::span<float>, double);
template double clip_grad_norm<double>(std::span<double>, double);

}  // namespace recur
