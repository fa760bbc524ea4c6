#include "recur/optim.hpp"

#include <cmath>
#include <string>

#include "recur/error.hpp"

namespace recur {

template <typename T>
Sgd<T>::Sgd(T learning_rate) : learning_rate_(learning_rate) {
  if (!std::isfinite(learning_rate) || learning_rate <= T(0)) {
    throw Error("sgd: learning rate must be a finite number > 0, got " +
                std::to_string(learning_rate));
  }
}

template <typename T>
void Sgd<T>::step(std::span<T> params, std::span<const T> grads) const {
  if (params.size() != grads.size()) {
    throw Error("sgd: " + std::to_string(params.size()) + " parameters but " +
                std::to_string(grads.size()) + " gradients");
  }
  for (std::size_t i = 0; i < params.size(); ++i) params[i] -= learning_rate_ * grads[i];
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace recur
