// numpy arrays in and out of the bindings: every array argument is checked here, so that a
// wrong one raises ValueError naming the argument and the shape it should have, and is copied
// only when it is not already a C-contiguous array of the model's dtype.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace recur::python {

namespace py = pybind11;

// "[10, 2, 3]"
std::string shape_string(const py::array& a);

// obj as a C-contiguous array of T: lists and float32/float64 arrays of any layout are
// accepted (converted or copied only when needed); anything else raises ValueError.
template <typename T>
py::array_t<T, py::array::c_style> float_array(py::handle obj, const char* name);

// A sequence argument: [T, B, F] or, for one sequence, [T, F]. The feature count must be
// `features`; when seq_len or batch are >= 0 they must match too. "expected" in the message
// is written with the argument's own names for the dimensions.
struct SequenceShape {
  int seq_len = 0, batch = 0, features = 0;
  bool batched = true;  // false: the argument was [T, F]
};
SequenceShape sequence_shape(const py::array& a, const char* name, int features, int seq_len = -1,
                             int batch = -1);

// A new array of the given shape that owns a copy of `values`.
template <typename T>
py::array_t<T> copy_array(const T* values, const std::vector<py::ssize_t>& shape);

}  // namespace recur::python
