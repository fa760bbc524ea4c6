// Initialisers: where a network's parameters start.
#pragma once

#include <string>

#include "recur/network.hpp"
#include "recur/random.hpp"

namespace recur {

// The notebook's RNN.__init__: W_xh = randn(I, H) * s, W_hh = randn(H, H) * s,
// W_hy = randn(H, O) * s, biases zero, drawn in that order and stored transposed into
// PyTorch's orientation (weight_ih = W_xh^T, weight_hh = W_hh^T, readout.weight = W_hy^T).
// Other networks draw every weight the same way, in file order.
template <typename T>
void init_numpy(Network<T>& network, NumpyRandom& random, double init_scale);

// PyTorch's defaults, for new models: every weight and bias of the recurrent layers uniform
// on [-1/sqrt(H), 1/sqrt(H)], as nn.RNN, nn.LSTM and nn.GRU do, and the readout's uniform on
// [-1/sqrt(D*H), 1/sqrt(D*H)], as nn.Linear(D*H, O) does. Drawn from `random` in file order.
template <typename T>
void init_pytorch(Network<T>& network, NumpyRandom& random);

// Glorot/Xavier uniform for every weight, U(-b, b) with b = sqrt(6 / (fan_in + fan_out)) as
// torch.nn.init.xavier_uniform_ takes them from a [fan_out, fan_in] tensor (weight_ih: I and
// G*H; weight_hh: H and G*H; readout: D*H and O), biases zero.
template <typename T>
void init_xavier(Network<T>& network, NumpyRandom& random);

// Keras's recurrent default: xavier for weight_ih and the readout, and each gate's H x H block
// of every weight_hh a random orthogonal matrix (the Q of a Gaussian matrix's QR, signs fixed
// by R's diagonal, as torch.nn.init.orthogonal_), biases zero.
template <typename T>
void init_orthogonal(Network<T>& network, NumpyRandom& random);

enum class InitMethod { kNumpy, kPytorch, kXavier, kOrthogonal };
// "numpy" (the seed's randn * 0.01), "pytorch", "xavier" or "orthogonal".
InitMethod parse_init_method(const std::string& name);
template <typename T>
void initialize(Network<T>& network, InitMethod method, NumpyRandom& random);

}  // namespace recur
