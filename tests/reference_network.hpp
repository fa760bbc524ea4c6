// For tests that hold a network's fast paths to the same network in long double (which takes
// none of them): both given the same random parameters.
#pragma once

#include "recur/network.hpp"
#include "recur/random.hpp"

namespace recur {

// Every parameter randn * scale, drawn in T and copied exactly into the reference.
template <typename T>
void draw_same_parameters(Network<T>& fast, Network<long double>& reference, NumpyRandom& random,
                          double scale) {
  for (std::size_t i = 0; i < fast.parameters().size(); ++i) {
    fast.parameters()[i] = static_cast<T>(scale * random.randn());
    reference.parameters()[i] = fast.parameters()[i];
  }
}

}  // namespace recur
