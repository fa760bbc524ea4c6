// One recur::Network as a Python object (recur._recur.Model32 / Model64), with the lock that
// keeps two Python threads from running it at once: the library's Network is not safe to
// share between concurrent calls, and the bindings release the GIL for long ones.
#pragma once

#include <pybind11/pybind11.h>

#include <mutex>
#include <optional>
#include <vector>

#include "recur/network.hpp"

namespace recur::python {

namespace py = pybind11;

template <typename T>
struct Model {
  explicit Model(const NetworkConfig& config) : net(config) {}
  Network<T> net;
  std::mutex mutex;
  std::vector<T> dy, state, y_t;  // scratch, grown once
};

// Holds a model's mutex for one call. When another thread has it, waits without the GIL,
// so that a fit() running in that thread can still take the GIL for its callbacks.
class ModelLock {
 public:
  explicit ModelLock(std::mutex& mutex) : lock_(mutex, std::try_to_lock) {
    if (!lock_.owns_lock()) {
      py::gil_scoped_release release;
      lock_.lock();
    }
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

// Releases the GIL for the rest of a scope when the work is large enough to be worth the
// switch (about a microsecond); small calls keep it.
class ReleaseIfLong {
 public:
  explicit ReleaseIfLong(double multiply_adds) {
    if (multiply_adds > 1e5) release_.emplace();
  }

 private:
  std::optional<py::gil_scoped_release> release_;
};

template <typename T>
void bind_model(py::module_& m, const char* name);
template <typename T>
void bind_fit(py::class_<Model<T>>& cls);

NetworkConfig config_from(const py::dict& kwargs);
py::dict config_dict(const NetworkConfig& config);

}  // namespace recur::python
