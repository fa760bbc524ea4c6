// What Network's passes (network.cpp) and its streaming step (network_step.cpp) share: the
// workspace of one forward and backward, and each layer-direction's parameters (or
// gradients) as pointers into the flat buffer that holds them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "layer.hpp"
#include "loop_tuner.hpp"
#include "packed_gemm.hpp"
#include "recur/cache_aligned.hpp"
#include "recur/network.hpp"

namespace recur {

template <typename T>
struct Workspace {
  std::vector<LayerBuffers<T>> layers;  // (layers * directions), layer-major
  StepScratch<T> scratch;
  AlignedVector<T> x;                    // (T, B, I) copy of the input
  std::vector<AlignedVector<T>> inputs;  // [l >= 1]: (T, B, D*H) layer l's input, dropout applied
  std::vector<AlignedVector<T>> masks;   // [l >= 1]: (T, B, D*H) 0 or 1 / (1 - p)
  AlignedVector<T> top;                  // (T, B, D*H) the top layer's outputs, when D = 2
  AlignedVector<T> y;                    // (T, B, O)
  AlignedVector<T> dy;                   // (T, B, O) dLoss/dy with padded steps zeroed, grown
                                         // by the first padded backward (else untouched)
  AlignedVector<T> grad_out;             // (T, B, D*H) dLoss/d(a layer's output), or empty
  AlignedVector<T> grad_in;              // (T, B, D*H) dLoss/d(its input), or empty where
                                         // every layer takes an OuterGradient instead
  std::vector<int> lengths;              // (B) of the last forward
  bool padded = false;                   // some sequence of the last forward is shorter
  bool dropped = false;                  // the last forward applied dropout
  AlignedVector<T> step_xw, step_h, step_c, step_cache;  // step(): one step of one layer
  PackedMatrix<T> step_readout;                          // step(): readout.weight^T packed
  LoopTuner step_tuner;  // step(): whether its products split (SplitSmallProducts)
  // Whether a small pass runs on one thread (run_pass); over the layers' loop tuners.
  LoopTuner forward_tuner{LoopTuner::kOuterWarmup}, backward_tuner{LoopTuner::kOuterWarmup};
};

// Tensors per layer and direction: weight_ih, weight_hh and one bias, or two for GRU.
// The most values a row (one sequence, one step) of any buffer holds: the input, a layer's
// gates or both directions' outputs, the output. forward and step refuse batches whose rows
// of it, over all their steps, would pass INT_MAX, the products' and loops' index range.
inline long long widest_row(const NetworkConfig& c) {
  const long long H = c.hidden_size;
  return std::max({static_cast<long long>(c.input_size), gate_count(c.cell) * H, c.directions() * H,
                   static_cast<long long>(c.output_size)});
}

inline int tensors_per_layer(CellKind cell) {
  return cell == CellKind::kGru ? 4 : 3;
}

// The parameters (or gradients) of layer-direction k as pointers into a flat buffer.
template <typename T>
struct LayerViews {
  T* weight_ih;
  T* weight_hh;
  T* bias;
  T* bias_hh;  // GRU only
  int input;   // weight_ih's columns
};

template <typename T, typename Buffer>
LayerViews<T> layer_views(const std::vector<TensorInfo>& tensors, CellKind cell, int k,
                          Buffer& buffer) {
  const std::size_t first = static_cast<std::size_t>(k) * tensors_per_layer(cell);
  T* base = buffer.data();
  return {base + tensors[first].offset, base + tensors[first + 1].offset,
          base + tensors[first + 2].offset,
          cell == CellKind::kGru ? base + tensors[first + 3].offset : nullptr,
          tensors[first].shape[1]};
}

// What a cell step of layer-direction k sees: its weights, and W_hh packed for the
// direction the loop runs (forward or backward), if packed.
template <typename T>
CellWeights<T> cell_weights(const NetworkConfig& c, const LayerViews<T>& p,
                            const LayerBuffers<T>& buf, const PackedMatrix<T>* forward_packed,
                            const PackedMatrix<T>* backward_packed) {
  return {c.nonlinearity, c.hidden_size, p.weight_hh,    buf.weight_hh_t.data(),
          p.bias,         p.bias_hh,     forward_packed, backward_packed};
}

}  // namespace recur
