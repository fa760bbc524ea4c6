// recur._recur: the compiled half of `import recur` (python/recur/ is the other).
#include <pybind11/stl.h>

#include "model.hpp"
#include "recur/error.hpp"
#include "recur/model_file.hpp"
#include "recur/threads.hpp"

namespace recur::python {

namespace {

// recur.load: the model file's network, in the file's own dtype, with its metadata.
py::tuple load(const std::string& path) {
  ModelFile file;
  {
    py::gil_scoped_release release;
    file = read_model(path);
  }
  py::object model;
  if (file.dtype == "float64") {
    auto m = std::make_unique<Model<double>>(file.config);
    load_parameters(file, m->net);
    model = py::cast(std::move(m));
  } else {
    auto m = std::make_unique<Model<float>>(file.config);
    load_parameters(file, m->net);
    model = py::cast(std::move(m));
  }
  return py::make_tuple(model, file.metadata);
}

}  // namespace

PYBIND11_MODULE(_recur, m) {
  m.doc() = "recur's C++ library; use the recur package, not this module";
  py::register_exception<Error>(m, "Error", PyExc_ValueError);
  bind_model<float>(m, "Model32");
  bind_model<double>(m, "Model64");
  m.def("load", &load);
  m.def("set_threads", [](int n) {
    if (n < 1) throw py::value_error("set_threads: expected at least 1, got " + std::to_string(n));
    set_threads(n);
  });
  m.def("threads", [] { return threads(); });
}

}  // namespace recur::python
