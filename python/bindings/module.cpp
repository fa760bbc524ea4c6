// recur._recur: the compiled half of `import recur` (python/recur/ is the other).
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>

#include "model.hpp"
#include "recur/error.hpp"
#include "recur/limits.hpp"
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
  // The caps on what a file may make recur allocate (recur/limits.hpp), by the same names as
  // the program's --max-file-size, --max-line-length and --max-vocabulary.
  m.def(
      "set_limits",
      [](std::optional<std::uint64_t> max_file_size, std::optional<std::uint64_t> max_line_length,
         std::optional<std::uint64_t> max_vocabulary) {
        Limits l = limits();
        for (const auto& [name, value] : {std::pair{"max_file_size", max_file_size},
                                          std::pair{"max_line_length", max_line_length},
                                          std::pair{"max_vocabulary", max_vocabulary}}) {
          if (value && *value == 0) {
            throw py::value_error(std::string(name) + ": expected a positive number");
          }
        }
        if (max_file_size) l.max_file_size = *max_file_size;
        if (max_line_length) l.max_line_length = *max_line_length;
        if (max_vocabulary) l.max_vocabulary = static_cast<std::size_t>(*max_vocabulary);
        set_limits(l);
      },
      py::arg("max_file_size") = py::none(), py::arg("max_line_length") = py::none(),
      py::arg("max_vocabulary") = py::none());
  m.def("limits", [] {
    const Limits now = limits();
    py::dict d;
    d["max_file_size"] = now.max_file_size;
    d["max_line_length"] = now.max_line_length;
    d["max_vocabulary"] = now.max_vocabulary;
    return d;
  });
}

}  // namespace recur::python
