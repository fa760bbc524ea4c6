// Optimizers: update a flat parameter buffer from the flat gradient buffer of the same layout.
#pragma once

#include <span>

namespace recur {

// Plain stochastic gradient descent: p <- p - lr * g.
template <typename T>
class Sgd {
 public:
  explicit Sgd(T learning_rate);  // throws Error unless learning_rate is finite and > 0
  void step(std::span<T> params, std::span<const T> grads) const;

 private:
  T learning_rate_;
};

extern template class Sgd<float>;
extern template class Sgd<double>;

}  // namespace recur
