// Network::step: streaming inference, one time step of each layer and the readout, the
// state carried by the caller.
#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

#include "gemm.hpp"
#include "layer.hpp"
#include "network_workspace.hpp"
#include "packed_gemm.hpp"
#include "recur/error.hpp"
#include "recur/network.hpp"
#include "thread_pool.hpp"

namespace recur {

namespace {

// out [B, n] = x [B, k] W^T for W [n, k], as step() needs it: with W^T packed (once, when
// `prepare`) unless the product is too small to gain from it (use_packed_step).
template <typename T>
void step_projection(bool prepare, int batch, int n, int k, const T* x, const T* weight,
                     PackedMatrix<T>& packed, T* out) {
  if constexpr (sizeof(T) <= sizeof(double)) {
    if (use_packed_step<T>(k, n)) {
      if (prepare) packed.pack(Trans::kYes, k, n, weight, k);
      return gemm_packed(batch, x, k, packed, T(0), out, n);
    }
  }
  gemm(Trans::kNo, Trans::kYes, batch, n, k, T(1), x, k, weight, k, T(0), out, n);
}

}  // namespace

template <typename T>
void Network<T>::step(std::span<const T> x_t, std::span<T> state, std::span<T> y_t,
                      int batch_size) {
  const int I = config_.input_size, H = config_.hidden_size, O = config_.output_size;
  const int L = config_.layers, G = gate_count(config_.cell) * H;
  if (config_.bidirectional) {
    throw Error("step: a bidirectional network needs the whole sequence; use forward");
  }
  if (batch_size > 0 && batch_size * widest_row(config_) > std::numeric_limits<int>::max()) {
    throw Error("step: a batch of " + std::to_string(batch_size) +
                " needs more than 2147483647 values per buffer; use smaller batches");
  }
  const auto rows = static_cast<std::size_t>(batch_size);
  if (batch_size <= 0 || x_t.size() != rows * I || state.size() != state_size(batch_size) ||
      y_t.size() != rows * O) {
    throw Error("step: expected x_t [" + std::to_string(batch_size) + ", " + std::to_string(I) +
                "], state of " + std::to_string(state_size(batch_size)) + " values and y_t [" +
                std::to_string(batch_size) + ", " + std::to_string(O) + "], got " +
                std::to_string(x_t.size()) + ", " + std::to_string(state.size()) + " and " +
                std::to_string(y_t.size()) + " values");
  }
  Workspace<T>& ws = *ws_;
  grow(ws.step_xw, rows * G);
  grow(ws.step_h, rows * H);
  grow(ws.step_c, rows * H);
  grow(ws.step_cache, rows * std::max(cache_width(config_.cell, H), 1));
  ws.scratch.reserve(config_.cell, H, batch_size);
  const bool prepare = !step_ready_ || step_batch_ != batch_size;
  step_ready_ = true;
  step_batch_ = batch_size;
  long work = static_cast<long>(H) * O;  // multiply-adds a row: the tuner's key
  for (int l = 0; l < L; ++l) work += static_cast<long>((l == 0 ? I : H) + H) * G;
  ws.step_tuner.run(work * batch_size, free_threads(), [&](int parts) {
    const SplitSmallProducts split(parts > 1);
    run_step(prepare, x_t, state, y_t, batch_size);
  });
}

template <typename T>
void Network<T>::run_step(bool prepare, std::span<const T> x_t, std::span<T> state,
                          std::span<T> y_t, int batch_size) {
  const int H = config_.hidden_size, O = config_.output_size, L = config_.layers;
  const int G = gate_count(config_.cell) * H;
  Workspace<T>& ws = *ws_;
  const bool lstm = config_.cell == CellKind::kLstm;
  const auto rows = static_cast<std::size_t>(batch_size);
  const std::size_t part = rows * H;
  for (int l = 0; l < L; ++l) {
    const LayerViews<T> p = layer_views<T>(tensors_, config_.cell, l, params_);
    LayerBuffers<T>& buf = ws.layers[l];
    const T* in = l == 0 ? x_t.data() : state.data() + (l - 1) * part;
    // The weights as the last call prepared them, unless they may have changed since: the
    // input's product in the step's own where the steps are packed, as forward's (one
    // product, and one split, a step), or apart first.
    const bool pack = use_packed_step<T>(H, G);
    const PackedMatrix<T>* fused = prepare_fused_weights(config_.cell, p.input, H, pack,
                                                         p.weight_ih, p.weight_hh, buf, prepare);
    if (fused == nullptr) {
      step_projection(prepare, batch_size, G, p.input, in, p.weight_ih, buf.packed_ih_t,
                      ws.step_xw.data());
    }
    const PackedMatrix<T>* packed =
        fused != nullptr
            ? fused
            : prepare_forward_weights(gate_count(config_.cell), H, pack, p.weight_hh, buf, prepare);
    CellWeights<T> w = cell_weights<T>(config_, p, buf, packed, nullptr);
    w.fused_input = fused != nullptr ? p.input : 0;
    T* h = state.data() + l * part;
    T* c = lstm ? state.data() + (L + l) * part : nullptr;
    const ForwardStep<T> fs{batch_size,
                            nullptr,
                            ws.step_xw.data(),
                            h,
                            c,
                            ws.step_h.data(),
                            ws.step_c.data(),
                            ws.step_cache.data(),
                            ws.scratch.gates.data(),
                            in,
                            p.input};
    {
      // Where the product splits, its panels are cut by the layer's shares, learned from the
      // parts' times (part_split.hpp): each column comes out as unsplit, wherever the cut. The
      // worker's part starts 0.3-0.5 us after the caller's, and the GRU's panels (x W_in over I
      // rows, h W_hn over H, the r and z ones over I + H) took 3.2 us on the caller's side and
      // 4.3 on the worker's, cut by rows summed (Zen 5 host, rdtsc probes). Learned cuts,
      // `bench/ab.py --workload stream --rounds 15`: GRU 1.089x (faster in 15 of 15), LSTM
      // 1.016x (9 of 15); Elman level (its step runs on one thread).
      const ProductShares cut(&buf.step_shares);
      cell_forward(config_.cell, w, fs);
    }
    std::copy(ws.step_h.begin(), ws.step_h.begin() + part, h);
    if (lstm) std::copy(ws.step_c.begin(), ws.step_c.begin() + part, c);
  }
  const TensorInfo& wo = tensors_[tensors_.size() - 2];
  const T* bias_o = params_.data() + tensors_.back().offset;
  step_projection(prepare, batch_size, O, H, state.data() + (L - 1) * part,
                  params_.data() + wo.offset, ws.step_readout, y_t.data());
  for (std::size_t r = 0; r < rows; ++r) {
    for (int o = 0; o < O; ++o) y_t[r * O + o] += bias_o[o];
  }
}

#define RECUR_INSTANTIATE(T)                                                           \
  template void Network<T>::step(std::span<const T>, std::span<T>, std::span<T>, int); \
  template void Network<T>::run_step(bool, std::span<const T>, std::span<T>, std::span<T>, int);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
RECUR_INSTANTIATE(long double)
#undef RECUR_INSTANTIATE

}  // namespace recur
