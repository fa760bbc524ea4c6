// oneDNN's side of bench/compare: one float32 training step of a workload with oneDNN's RNN
// primitives (vanilla RNN with tanh, LSTM, or the linear-before-reset GRU that PyTorch's
// nn.GRU computes), the same linear readout at every step through dnnl_sgemm, an MSE loss
// and an SGD update; timed as step_timing.hpp says. Threads: OMP_NUM_THREADS.
//
// The weights stay in the layouts the primitives choose ("any"); each step reorders them
// into the backward primitive's layout, as a training loop over these primitives must. The
// SGD update runs over the raw buffers (the same number of values, so the same cost, though
// the layouts of weights and gradients may differ: this program measures time, not learning).
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "step_timing.hpp"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Descs {
  memory::desc src, dst, weights_layer, weights_iter, bias, none;
};

struct Primitives {
  dnnl::primitive forward, backward;
  memory::desc workspace, fwd_weights_layer, fwd_weights_iter, bwd_weights_layer, bwd_weights_iter,
      diff_weights_layer, diff_weights_iter, diff_bias;
};

template <typename Fwd, typename Bwd, typename MakeFwd, typename MakeBwd>
Primitives build(const dnnl::engine& engine, MakeFwd make_fwd, MakeBwd make_bwd) {
  const typename Fwd::primitive_desc fwd_pd(make_fwd(), engine);
  const typename Bwd::primitive_desc bwd_pd(make_bwd(), engine, fwd_pd);
  return {Fwd(fwd_pd),
          Bwd(bwd_pd),
          fwd_pd.workspace_desc(),
          fwd_pd.weights_layer_desc(),
          fwd_pd.weights_iter_desc(),
          bwd_pd.weights_layer_desc(),
          bwd_pd.weights_iter_desc(),
          bwd_pd.diff_weights_layer_desc(),
          bwd_pd.diff_weights_iter_desc(),
          bwd_pd.diff_bias_desc()};
}

Primitives make_primitives(const std::string& cell, const dnnl::engine& engine, const Descs& d) {
  using dnnl::prop_kind;
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;
  const auto& n = d.none;
  if (cell == "lstm") {
    return build<dnnl::lstm_forward, dnnl::lstm_backward>(
        engine,
        [&] {
          return dnnl::lstm_forward::desc(prop_kind::forward_training, dir, d.src, n, n,
                                          d.weights_layer, d.weights_iter, d.bias, d.dst, n, n);
        },
        [&] {
          return dnnl::lstm_backward::desc(prop_kind::backward, dir, d.src, n, n, d.weights_layer,
                                           d.weights_iter, d.bias, d.dst, n, n, d.src, n, n,
                                           d.weights_layer, d.weights_iter, d.bias, d.dst, n, n);
        });
  }
  if (cell == "gru") {
    return build<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(
        engine,
        [&] {
          return dnnl::lbr_gru_forward::desc(prop_kind::forward_training, dir, d.src, n,
                                             d.weights_layer, d.weights_iter, d.bias, d.dst, n);
        },
        [&] {
          return dnnl::lbr_gru_backward::desc(prop_kind::backward, dir, d.src, n, d.weights_layer,
                                              d.weights_iter, d.bias, d.dst, n, d.src, n,
                                              d.weights_layer, d.weights_iter, d.bias, d.dst, n);
        });
  }
  const auto tanh = dnnl::algorithm::eltwise_tanh;
  return build<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(
      engine,
      [&] {
        return dnnl::vanilla_rnn_forward::desc(prop_kind::forward_training, tanh, dir, d.src, n,
                                               d.weights_layer, d.weights_iter, d.bias, d.dst, n);
      },
      [&] {
        return dnnl::vanilla_rnn_backward::desc(
            prop_kind::backward, tanh, dir, d.src, n, d.weights_layer, d.weights_iter, d.bias,
            d.dst, n, d.src, n, d.weights_layer, d.weights_iter, d.bias, d.dst, n);
      });
}

float* data(const memory& m) {
  return static_cast<float*>(m.get_data_handle());
}
std::size_t count(const memory& m) {
  return m.get_desc().get_size() / sizeof(float);
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Workload w = bench::parse_workload(argc, argv);
  const memory::dim T = w.T, B = w.B, I = w.I, H = w.H, O = w.O, G = bench::gates(w.cell);
  const memory::dim bias_gates = w.cell == "gru" ? G + 1 : G;  // lbr_gru: b_hn apart
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const Descs d{{{T, B, I}, dt::f32, tag::tnc},
                {{T, B, H}, dt::f32, tag::tnc},
                {{1, 1, I, G, H}, dt::f32, tag::any},
                {{1, 1, H, G, H}, dt::f32, tag::any},
                {{1, 1, bias_gates, H}, dt::f32, tag::ldgo},
                memory::desc()};
  const Primitives p = make_primitives(w.cell, engine, d);

  memory src(d.src, engine), dst(d.dst, engine), diff_src(d.src, engine), diff_dst(d.dst, engine),
      bias(d.bias, engine), workspace(p.workspace, engine),
      weights_layer(p.fwd_weights_layer, engine), weights_iter(p.fwd_weights_iter, engine),
      bwd_weights_layer(p.bwd_weights_layer, engine), bwd_weights_iter(p.bwd_weights_iter, engine),
      diff_weights_layer(p.diff_weights_layer, engine),
      diff_weights_iter(p.diff_weights_iter, engine), diff_bias(p.diff_bias, engine);
  for (const memory* m : {&src, &bias, &weights_layer, &weights_iter}) {
    float* v = data(*m);
    for (std::size_t i = 0; i < count(*m); ++i) v[i] = 0.01f * static_cast<float>(i % 97) - 0.48f;
  }
  const bool reorder_layer = p.fwd_weights_layer != p.bwd_weights_layer;
  const bool reorder_iter = p.fwd_weights_iter != p.bwd_weights_iter;
  dnnl::reorder to_bwd_layer, to_bwd_iter;
  if (reorder_layer) to_bwd_layer = dnnl::reorder(weights_layer, bwd_weights_layer);
  if (reorder_iter) to_bwd_iter = dnnl::reorder(weights_iter, bwd_weights_iter);

  const std::size_t rows = static_cast<std::size_t>(T) * B;
  std::vector<float> readout(O * H, 0.01f), readout_bias(O), y(rows * O), target(rows * O, 0.5f);
  std::vector<float> dy(rows * O), d_readout(O * H), d_readout_bias(O);
  const float lr = 1e-3f;
  const auto sgd = [&](float* values, const float* grads, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) values[i] -= lr * grads[i];
  };

  bench::time_steps(w, [&] {
    p.forward.execute(stream, {{DNNL_ARG_SRC_LAYER, src},
                               {DNNL_ARG_WEIGHTS_LAYER, weights_layer},
                               {DNNL_ARG_WEIGHTS_ITER, weights_iter},
                               {DNNL_ARG_BIAS, bias},
                               {DNNL_ARG_DST_LAYER, dst},
                               {DNNL_ARG_WORKSPACE, workspace}});
    stream.wait();
    const float* h = data(dst);
    dnnl_sgemm('N', 'T', rows, O, H, 1.0f, h, H, readout.data(), H, 0.0f, y.data(), O);
    const float scale = 2.0f / static_cast<float>(rows * O);
    for (std::size_t r = 0; r < rows; ++r) {
      for (memory::dim o = 0; o < O; ++o) {
        const std::size_t k = r * O + o;
        dy[k] = scale * (y[k] + readout_bias[o] - target[k]);
      }
    }
    dnnl_sgemm('T', 'N', O, H, rows, 1.0f, dy.data(), O, h, H, 0.0f, d_readout.data(), H);
    std::fill(d_readout_bias.begin(), d_readout_bias.end(), 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
      for (memory::dim o = 0; o < O; ++o) d_readout_bias[o] += dy[r * O + o];
    }
    dnnl_sgemm('N', 'N', rows, H, O, 1.0f, dy.data(), O, readout.data(), H, 0.0f, data(diff_dst),
               H);
    if (reorder_layer) to_bwd_layer.execute(stream, weights_layer, bwd_weights_layer);
    if (reorder_iter) to_bwd_iter.execute(stream, weights_iter, bwd_weights_iter);
    for (const memory* m : {&diff_weights_layer, &diff_weights_iter, &diff_bias}) {
      std::memset(m->get_data_handle(), 0, m->get_desc().get_size());  // they accumulate
    }
    p.backward.execute(stream,
                       {{DNNL_ARG_SRC_LAYER, src},
                        {DNNL_ARG_WEIGHTS_LAYER, reorder_layer ? bwd_weights_layer : weights_layer},
                        {DNNL_ARG_WEIGHTS_ITER, reorder_iter ? bwd_weights_iter : weights_iter},
                        {DNNL_ARG_BIAS, bias},
                        {DNNL_ARG_DST_LAYER, dst},
                        {DNNL_ARG_DIFF_DST_LAYER, diff_dst},
                        {DNNL_ARG_WORKSPACE, workspace},
                        {DNNL_ARG_DIFF_SRC_LAYER, diff_src},
                        {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_weights_layer},
                        {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_weights_iter},
                        {DNNL_ARG_DIFF_BIAS, diff_bias}});
    stream.wait();
    sgd(data(weights_layer), data(diff_weights_layer), count(weights_layer));
    sgd(data(weights_iter), data(diff_weights_iter), count(weights_iter));
    sgd(data(bias), data(diff_bias), count(bias));
    sgd(readout.data(), d_readout.data(), readout.size());
    sgd(readout_bias.data(), d_readout_bias.data(), readout_bias.size());
  });
  return 0;
}
