// Model.fit: arrays become recur's sequences and recur::Trainer runs the epochs, as
// `recur train` does, without the GIL. Between steps the binding takes the GIL for a moment
// to see Ctrl-C (KeyboardInterrupt leaves the model as the last finished step left it) and
// to call the progress callback; after each epoch it calls the epoch callback.
#include <pybind11/stl.h>

#include <cmath>

#include "arrays.hpp"
#include "model.hpp"
#include "recur/dataset.hpp"
#include "recur/error.hpp"
#include "recur/train.hpp"

namespace recur::python {

namespace {

// x [T, B, I] and y [T, B, O] (or [T, I], [T, O]) with optional lengths, as one Sequence
// per column b holding its first lengths[b] steps.
template <typename T>
std::vector<Sequence> sequences_from(const NetworkConfig& c, py::handle x_obj, py::handle y_obj,
                                     py::handle lengths_obj, const char* x_name,
                                     const char* y_name) {
  const auto x = float_array<double>(x_obj, x_name);
  const SequenceShape s = sequence_shape(x, x_name, c.input_size);
  const auto y = float_array<double>(y_obj, y_name);
  sequence_shape(y, y_name, c.output_size, s.seq_len, s.batch);
  std::vector<int> lengths(s.batch, s.seq_len);
  if (!lengths_obj.is_none()) {
    const auto a =
        py::array_t<long long, py::array::c_style | py::array::forcecast>::ensure(lengths_obj);
    if (!a || a.ndim() != 1 || a.shape(0) != s.batch) {
      throw py::value_error("lengths: expected " + std::to_string(s.batch) +
                            " integers, one per sequence");
    }
    for (int b = 0; b < s.batch; ++b) {
      const long long n = a.at(b);
      if (n < 1 || n > s.seq_len) {
        throw py::value_error("lengths[" + std::to_string(b) + "]: expected 1 to " +
                              std::to_string(s.seq_len) + ", got " + std::to_string(n));
      }
      lengths[b] = static_cast<int>(n);
    }
  }
  const int I = c.input_size, O = c.output_size, B = s.batch;
  std::vector<Sequence> out(B);
  const double* xs = x.data();
  const double* ys = y.data();
  for (int b = 0; b < B; ++b) {
    Sequence& q = out[b];
    q.id = std::to_string(b);
    q.length = lengths[b];
    q.inputs.resize(static_cast<std::size_t>(q.length) * I);
    q.targets.resize(static_cast<std::size_t>(q.length) * O);
    for (int t = 0; t < q.length; ++t) {
      const std::size_t row = static_cast<std::size_t>(t) * B + b;
      std::copy(xs + row * I, xs + (row + 1) * I, q.inputs.begin() + t * I);
      std::copy(ys + row * O, ys + (row + 1) * O, q.targets.begin() + t * O);
    }
    for (double v : q.inputs) {
      if (!std::isfinite(v)) throw py::value_error(std::string(x_name) + ": not finite values");
    }
    for (double v : q.targets) {
      if (!std::isfinite(v)) throw py::value_error(std::string(y_name) + ": not finite values");
    }
  }
  return out;
}

template <typename T>
py::dict fit(Model<T>& m, py::handle x, py::handle y, py::handle lengths, py::handle val_x,
             py::handle val_y, py::handle val_lengths, int epochs, const py::dict& options,
             py::object on_step, py::object on_epoch) {
  const NetworkConfig& c = m.net.config();
  const std::vector<Sequence> train = sequences_from<T>(c, x, y, lengths, "x", "y");
  const std::vector<Sequence> validation =
      val_x.is_none()
          ? std::vector<Sequence>{}
          : sequences_from<T>(c, val_x, val_y, val_lengths, "validation x", "validation y");
  if (epochs < 1)
    throw py::value_error("epochs: expected at least 1, got " + std::to_string(epochs));
  TrainSettings settings;
  settings.optimizer.kind = parse_optimizer(options["optimizer"].cast<std::string>());
  settings.optimizer.learning_rate = options["lr"].cast<double>();
  settings.optimizer.momentum = options["momentum"].cast<double>();
  settings.optimizer.nesterov = options["nesterov"].cast<bool>();
  settings.optimizer.weight_decay = options["weight_decay"].cast<double>();
  settings.clip = options["clip"].cast<double>();
  settings.bptt = options["bptt"].cast<int>();
  settings.loss = parse_loss(options["loss"].cast<std::string>());
  settings.last_step_only = options["last_step_only"].cast<bool>();
  settings.batch_size = options["batch_size"].cast<int>();
  settings.seed = options["seed"].cast<std::uint32_t>();
  if (settings.batch_size < 1) throw py::value_error("batch_size: expected at least 1");
  if (settings.bptt < 0) throw py::value_error("bptt: expected 0 (full BPTT) or more");
  if (!(settings.clip >= 0)) throw py::value_error("clip: expected 0 (off) or a positive norm");
  if (settings.bptt > 0 && c.bidirectional) {
    throw py::value_error(
        "bptt: truncated BPTT cannot run the reverse direction of a "
        "bidirectional model");
  }

  ModelLock lock(m.mutex);
  py::list loss_history, val_history, norm_history;
  {
    py::gil_scoped_release release;
    Trainer<T> trainer(m.net, train, validation, settings);
    const auto step_done = [&](int step, int steps, double running, double norm) {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!on_step.is_none()) on_step(step, steps, running, norm);
    };
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const double loss = trainer.run_epoch(epoch, step_done);
      const double val = validation.empty() ? NAN : trainer.evaluate(validation);
      py::gil_scoped_acquire acquire;
      loss_history.append(loss);
      norm_history.append(trainer.mean_grad_norm());
      if (!validation.empty()) val_history.append(val);
      if (!on_epoch.is_none()) {
        py::dict logs;
        logs["loss"] = loss;
        logs["grad_norm"] = trainer.mean_grad_norm();
        if (!validation.empty()) logs["val_loss"] = val;
        if (py::object stop = on_epoch(epoch, logs); !stop.is_none() && !stop.cast<bool>()) break;
      }
    }
  }
  py::dict history;
  history["loss"] = loss_history;
  history["grad_norm"] = norm_history;
  if (!validation.empty()) history["val_loss"] = val_history;
  return history;
}

}  // namespace

template <typename T>
void bind_fit(py::class_<Model<T>>& cls) {
  cls.def("fit", &fit<T>);
}

template void bind_fit<float>(py::class_<Model<float>>&);
template void bind_fit<double>(py::class_<Model<double>>&);

}  // namespace recur::python
