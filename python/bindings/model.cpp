// recur._recur.Model32 / Model64: construction, named buffers, forward, step, the seed
// notebook's train step, save. fit() is in fit.cpp; the Python classes that users see wrap
// these in python/recur/.
#include "model.hpp"

#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "arrays.hpp"
#include "recur/error.hpp"
#include "recur/init.hpp"
#include "recur/loss.hpp"
#include "recur/model_file.hpp"

namespace recur::python {

NetworkConfig config_from(const py::dict& kw) {
  NetworkConfig c;
  c.cell = parse_cell(kw["cell"].cast<std::string>());
  c.input_size = kw["input_size"].cast<int>();
  c.hidden_size = kw["hidden_size"].cast<int>();
  c.output_size = kw["output_size"].cast<int>();
  c.layers = kw["layers"].cast<int>();
  c.bidirectional = kw["bidirectional"].cast<bool>();
  c.dropout = kw["dropout"].cast<double>();
  c.nonlinearity = parse_nonlinearity(kw["nonlinearity"].cast<std::string>());
  return c;
}

py::dict config_dict(const NetworkConfig& c) {
  py::dict d;
  d["cell"] = cell_name(c.cell);
  d["input_size"] = c.input_size;
  d["hidden_size"] = c.hidden_size;
  d["output_size"] = c.output_size;
  d["layers"] = c.layers;
  d["bidirectional"] = c.bidirectional;
  d["dropout"] = c.dropout;
  d["nonlinearity"] = nonlinearity_name(c.nonlinearity);
  return d;
}

namespace {

// Multiply-adds of one forward over [seq_len, batch], for deciding to release the GIL.
double work(const NetworkConfig& c, int seq_len, int batch) {
  const double g = gate_count(c.cell) * c.hidden_size;
  return double(seq_len) * batch * c.directions() *
         (c.layers * g * (c.input_size + c.hidden_size) + c.hidden_size * c.output_size);
}

// The lengths argument: None, or B ints in 1..seq_len.
std::vector<int> lengths_from(py::handle obj, int seq_len, int batch) {
  if (obj.is_none()) return {};
  py::array_t<long long, py::array::c_style | py::array::forcecast> a;
  try {
    a = py::array_t<long long, py::array::c_style | py::array::forcecast>::ensure(obj);
  } catch (const py::error_already_set&) {
  }
  if (!a || a.ndim() != 1 || a.shape(0) != batch) {
    throw py::value_error("lengths: expected " + std::to_string(batch) +
                          " integers, one per sequence");
  }
  std::vector<int> out(batch);
  for (int b = 0; b < batch; ++b) {
    const long long n = a.at(b);
    if (n < 1 || n > seq_len) {
      throw py::value_error("lengths[" + std::to_string(b) + "]: expected 1 to " +
                            std::to_string(seq_len) + ", got " + std::to_string(n));
    }
    out[b] = static_cast<int>(n);
  }
  return out;
}

// The state argument: None (zeros), or state_parts() matrices [B, H] as one array
// [parts, B, H] (or [parts, H] for an unbatched call).
template <typename T>
std::optional<py::array_t<T, py::array::c_style>> state_from(const Model<T>& m, py::handle obj,
                                                             int batch, bool batched) {
  if (obj.is_none()) return std::nullopt;
  auto a = float_array<T>(obj, "state");
  const NetworkConfig& c = m.net.config();
  const int parts = c.state_parts();
  const bool ok = batched ? a.ndim() == 3 && a.shape(0) == parts && a.shape(1) == batch &&
                                a.shape(2) == c.hidden_size
                          : a.ndim() == 2 && a.shape(0) == parts && a.shape(1) == c.hidden_size;
  if (!ok) {
    const std::string h = std::to_string(c.hidden_size), p = std::to_string(parts);
    throw py::value_error("state: expected shape " +
                          (batched ? "[" + p + ", " + std::to_string(batch) + ", " + h + "]"
                                   : "[" + p + ", " + h + "]") +
                          ", got " + shape_string(a));
  }
  return a;
}

template <typename T>
std::vector<py::ssize_t> state_shape(const Model<T>& m, int batch, bool batched) {
  const NetworkConfig& c = m.net.config();
  if (batched) return {c.state_parts(), batch, c.hidden_size};
  return {c.state_parts(), c.hidden_size};
}

template <typename T>
py::tuple forward(Model<T>& m, py::handle x_obj, py::handle lengths_obj, py::handle state_obj,
                  bool hidden) {
  const NetworkConfig& c = m.net.config();
  const auto x = float_array<T>(x_obj, "x");
  const SequenceShape s = sequence_shape(x, "x", c.input_size);
  const std::vector<int> lengths = lengths_from(lengths_obj, s.seq_len, s.batch);
  const auto state0 = state_from(m, state_obj, s.batch, s.batched);
  ModelLock lock(m.mutex);
  std::span<const T> y, top;
  std::vector<T> state(m.net.state_size(s.batch));
  {
    ReleaseIfLong release(work(c, s.seq_len, s.batch));
    m.net.set_training(false);
    y = m.net.forward(
        {x.data(), static_cast<std::size_t>(x.size())}, s.seq_len, s.batch, lengths,
        state0 ? std::span<const T>(state0->data(), state0->size()) : std::span<const T>());
    m.net.final_state(state);
    if (hidden) top = m.net.hidden();
  }
  const auto shape = [&](int f) {
    return s.batched ? std::vector<py::ssize_t>{s.seq_len, s.batch, f}
                     : std::vector<py::ssize_t>{s.seq_len, f};
  };
  py::object h = py::none();
  if (hidden) h = copy_array(top.data(), shape(c.directions() * c.hidden_size));
  return py::make_tuple(copy_array(y.data(), shape(c.output_size)),
                        copy_array(state.data(), state_shape(m, s.batch, s.batched)), h);
}

template <typename T>
py::tuple step(Model<T>& m, py::handle x_obj, py::handle state_obj, bool changed) {
  const NetworkConfig& c = m.net.config();
  const auto x = float_array<T>(x_obj, "x_t");
  const bool batched = x.ndim() == 2;
  if ((x.ndim() != 1 && x.ndim() != 2) || x.shape(x.ndim() - 1) != c.input_size ||
      (batched && x.shape(0) < 1)) {
    throw py::value_error("x_t: expected shape [B, " + std::to_string(c.input_size) + "] or [" +
                          std::to_string(c.input_size) + "], got " + shape_string(x));
  }
  if (c.bidirectional) {
    throw Error("step: a bidirectional model needs whole sequences; use predict()");
  }
  const int batch = batched ? static_cast<int>(x.shape(0)) : 1;
  const auto state0 = state_from(m, state_obj, batch, batched);
  ModelLock lock(m.mutex);
  std::vector<T>& state = m.state;
  state.resize(m.net.state_size(batch));
  if (state0) {
    std::copy(state0->data(), state0->data() + state0->size(), state.begin());
  } else {
    std::fill(state.begin(), state.end(), T(0));
  }
  m.y_t.resize(static_cast<std::size_t>(batch) * c.output_size);
  {
    ReleaseIfLong release(work(c, 1, batch));
    if (changed) m.net.parameters();  // the weights step() prepared may be stale
    m.net.step({x.data(), static_cast<std::size_t>(x.size())}, state, m.y_t, batch);
  }
  std::vector<py::ssize_t> y_shape{c.output_size};
  if (batched) y_shape.insert(y_shape.begin(), batch);
  return py::make_tuple(copy_array(m.y_t.data(), y_shape),
                        copy_array(state.data(), state_shape(m, batch, batched)));
}

// The seed notebook's train_step: forward, 0.5 sum (y - target)^2, BPTT, and p -= lr dp.
// With y_pred (the notebook's backward(x, h, y, y_true)), dLoss/dy is y_pred - target as the
// notebook computes it; otherwise the forward's own y.
template <typename T>
double seed_update(Model<T>& m, const T* x, int seq_len, int batch, const T* target,
                   const T* y_pred, T lr) {
  const NetworkConfig& c = m.net.config();
  m.net.set_training(false);
  const std::size_t n = static_cast<std::size_t>(seq_len) * batch * c.output_size;
  const auto y =
      m.net.forward({x, static_cast<std::size_t>(seq_len) * batch * c.input_size}, seq_len, batch);
  m.dy.resize(n);
  const double loss = sse_loss<T>(y, {target, n}, m.dy);
  if (y_pred != nullptr) {
    for (std::size_t i = 0; i < n; ++i) m.dy[i] = y_pred[i] - target[i];
  }
  m.net.backward(m.dy);
  const std::span<T> params = m.net.parameters();
  const std::span<const T> grads = m.net.gradients();
  for (std::size_t i = 0; i < params.size(); ++i) params[i] -= lr * grads[i];
  return loss;
}

// The arguments of seed_step, checked.
template <typename T>
struct SeedArgs {
  py::array_t<T, py::array::c_style> x, target, y_pred;
  SequenceShape shape;
  bool has_y_pred = false;
};

template <typename T>
SeedArgs<T> seed_args(const Model<T>& m, py::handle x_obj, py::handle y_pred_obj,
                      py::handle target_obj, double lr) {
  const NetworkConfig& c = m.net.config();
  SeedArgs<T> a;
  a.x = float_array<T>(x_obj, "x_seq");
  a.shape = sequence_shape(a.x, "x_seq", c.input_size);
  a.target = float_array<T>(target_obj, "y_true");
  sequence_shape(a.target, "y_true", c.output_size, a.shape.seq_len, a.shape.batch);
  a.has_y_pred = !y_pred_obj.is_none();
  if (a.has_y_pred) {
    a.y_pred = float_array<T>(y_pred_obj, "y_seq");
    sequence_shape(a.y_pred, "y_seq", c.output_size, a.shape.seq_len, a.shape.batch);
  }
  if (!(lr >= 0) || !std::isfinite(lr)) {
    throw py::value_error("lr: expected a finite learning rate >= 0, got " + std::to_string(lr));
  }
  return a;
}

template <typename T>
double seed_step(Model<T>& m, py::handle x_obj, py::handle y_pred_obj, py::handle target_obj,
                 double lr) {
  const SeedArgs<T> a = seed_args(m, x_obj, y_pred_obj, target_obj, lr);
  ModelLock lock(m.mutex);
  ReleaseIfLong release(3 * work(m.net.config(), a.shape.seq_len, a.shape.batch));
  return seed_update(m, a.x.data(), a.shape.seq_len, a.shape.batch, a.target.data(),
                     a.has_y_pred ? a.y_pred.data() : nullptr, static_cast<T>(lr));
}

// For bench/python_compare.py: the median seconds of `repeats` seed_update calls timed in
// C++, the work that one Python train_step wraps.
template <typename T>
double bench_seed_step(Model<T>& m, py::handle x_obj, py::handle target_obj, double lr,
                       int repeats) {
  const SeedArgs<T> a = seed_args(m, x_obj, py::none(), target_obj, lr);
  ModelLock lock(m.mutex);
  std::vector<double> seconds(std::max(repeats, 1));
  for (double& s : seconds) {
    const auto start = std::chrono::steady_clock::now();
    seed_update<T>(m, a.x.data(), a.shape.seq_len, a.shape.batch, a.target.data(), nullptr,
                   static_cast<T>(lr));
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
  return seconds[seconds.size() / 2];
}

template <typename T>
py::array_t<T> buffer_view(py::object self, bool gradients) {
  Model<T>& m = self.cast<Model<T>&>();
  const std::span<T> b = gradients ? m.net.gradients() : m.net.parameters();
  return py::array_t<T>({static_cast<py::ssize_t>(b.size())}, {static_cast<py::ssize_t>(sizeof(T))},
                        b.data(), self);
}

}  // namespace

template <typename T>
void bind_model(py::module_& mod, const char* name) {
  py::class_<Model<T>> cls(mod, name);
  cls.def(py::init([](const py::dict& kw) { return new Model<T>(config_from(kw)); }))
      .def_property_readonly("config",
                             [](const Model<T>& m) { return config_dict(m.net.config()); })
      .def("initialize",
           [](Model<T>& m, const std::string& method, std::uint32_t seed) {
             ModelLock lock(m.mutex);
             NumpyRandom random(seed);
             initialize(m.net, parse_init_method(method), random);
           })
      .def("tensors",
           [](const Model<T>& m) {
             py::list out;
             for (const TensorInfo& t : m.net.tensors()) {
               out.append(py::make_tuple(t.name, py::tuple(py::cast(t.shape)), t.offset, t.size));
             }
             return out;
           })
      .def("parameter_buffer", [](py::object self) { return buffer_view<T>(self, false); })
      .def("gradient_buffer", [](py::object self) { return buffer_view<T>(self, true); })
      .def("forward", &forward<T>)
      .def("step", &step<T>)
      .def("seed_step", &seed_step<T>)
      .def("bench_seed_step", &bench_seed_step<T>)
      .def("save", [](Model<T>& m, const std::string& path,
                      const std::map<std::string, std::string>& extra) {
        ModelLock lock(m.mutex);
        py::gil_scoped_release release;
        write_model(path, m.net, extra);
      });
  bind_fit<T>(cls);
}

template void bind_model<float>(py::module_&, const char*);
template void bind_model<double>(py::module_&, const char*);

}  // namespace recur::python
