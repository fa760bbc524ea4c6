#include "arrays.hpp"

#include <algorithm>

namespace recur::python {

std::string shape_string(const py::array& a) {
  std::string s = "[";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(a.shape(i));
  }
  return s + "]";
}

template <typename T>
py::array_t<T, py::array::c_style> float_array(py::handle obj, const char* name) {
  using Exact = py::array_t<T, py::array::c_style>;
  if (Exact::check_(obj)) return py::reinterpret_borrow<Exact>(obj);  // the common case, as is
  py::array a = py::array::ensure(obj);
  if (!a) {
    throw py::value_error(std::string(name) + ": expected a numpy array of float32 or float64");
  }
  const py::dtype dtype = a.dtype();
  if (dtype.kind() != 'f' || (dtype.itemsize() != 4 && dtype.itemsize() != 8)) {
    throw py::value_error(std::string(name) + ": expected float32 or float64 values, got " +
                          py::cast<std::string>(py::str(static_cast<const py::handle&>(dtype))));
  }
  return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
}

SequenceShape sequence_shape(const py::array& a, const char* name, int features, int seq_len,
                             int batch) {
  const auto expected = [&] {
    const std::string t = seq_len >= 0 ? std::to_string(seq_len) : "T";
    const std::string b = batch >= 0 ? std::to_string(batch) : "B";
    const std::string f = std::to_string(features);
    return "[" + t + ", " + b + ", " + f + "] or [" + t + ", " + f + "]";
  };
  SequenceShape s;
  if (a.ndim() == 3) {
    s = {static_cast<int>(a.shape(0)), static_cast<int>(a.shape(1)), static_cast<int>(a.shape(2)),
         true};
  } else if (a.ndim() == 2) {
    s = {static_cast<int>(a.shape(0)), 1, static_cast<int>(a.shape(1)), false};
  } else {
    s.seq_len = -2;  // fails below
  }
  if (s.seq_len < 1 || s.batch < 1 || s.features != features ||
      (seq_len >= 0 && s.seq_len != seq_len) || (batch >= 0 && s.batch != batch)) {
    throw py::value_error(std::string(name) + ": expected shape " + expected() + ", got " +
                          shape_string(a));
  }
  return s;
}

template <typename T>
py::array_t<T> copy_array(const T* values, const std::vector<py::ssize_t>& shape) {
  py::array_t<T> out(shape);
  std::copy(values, values + out.size(), out.mutable_data());
  return out;
}

template py::array_t<float, py::array::c_style> float_array<float>(py::handle, const char*);
template py::array_t<double, py::array::c_style> float_array<double>(py::handle, const char*);
template py::array_t<float> copy_array<float>(const float*, const std::vector<py::ssize_t>&);
template py::array_t<double> copy_array<double>(const double*, const std::vector<py::ssize_t>&);

}  // namespace recur::python
