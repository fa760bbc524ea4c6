// Checkpoints: a model file that also carries a stateful optimizer's buffers, so that a
// resumed run continues exactly. The buffers are stored beside the model's tensors, in its
// dtype, as "optimizer.first" and "optimizer.second" (momentum, or Adam's moments, in the flat
// parameter layout; absent when the optimizer keeps none), with the step count in metadata
// "optimizer_steps". Model readers skip them.
#pragma once

#include <string>

#include "recur/optim.hpp"
#include "recur/safetensors.hpp"

namespace recur {

template <typename T>
void add_optimizer_state(const Optimizer<T>& optimizer, Safetensors& file);

// Throws Error naming `path` if the state is malformed or does not fit the optimizer.
template <typename T>
void restore_optimizer_state(const Safetensors& file, const std::string& path,
                             Optimizer<T>& optimizer);

}  // namespace recur
