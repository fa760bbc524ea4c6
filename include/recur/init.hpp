// Initialisers: where a network's parameters start.
#pragma once

#include "recur/network.hpp"
#include "recur/random.hpp"

namespace recur {

// The notebook's RNN.__init__: W_xh = randn(I, H) * s, W_hh = randn(H, H) * s,
// W_hy = randn(H, O) * s, biases zero, drawn in that order and stored transposed into
// PyTorch's orientation (weight_ih = W_xh^T, weight_hh = W_hh^T, readout.weight = W_hy^T).
template <typename T>
void init_numpy(Network<T>& network, NumpyRandom& random, double init_scale);

// PyTorch's defaults, for new models: every weight and bias of the RNN uniform on
// [-1/sqrt(H), 1/sqrt(H)], as nn.RNN does, and the readout's uniform on [-1/sqrt(H),
// 1/sqrt(H)] too, as nn.Linear(H, O) does. Drawn from `random` in file order.
template <typename T>
void init_pytorch(Network<T>& network, NumpyRandom& random);

}  // namespace recur
