#include "numpy_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string_view>

namespace recur::cli {

namespace {

constexpr int kPrecision = 8;
constexpr int kLineWidth = 75;
constexpr std::size_t kThreshold = 1000;
constexpr int kEdgeItems = 3;

std::string chars(double value, std::chars_format format) {
  char buffer[400];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, format);
  return std::string(buffer, result.ptr);
}

std::string chars(double value, std::chars_format format, int precision) {
  char buffer[400];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, format, precision);
  return std::string(buffer, result.ptr);
}

// A finite number split as numpy's Dragon4 prints it in unique mode: the shortest digits
// that identify the value, rounded to at most kPrecision fraction digits, zeros trimmed.
struct Digits {
  std::string integer;   // with its sign
  std::string fraction;  // may be empty
  std::string exponent;  // scientific only: sign and at least two digits, "-05"
};

Digits split_digits(double value, bool scientific) {
  const auto format = scientific ? std::chars_format::scientific : std::chars_format::fixed;
  std::string text = chars(value, format);
  Digits d;
  if (scientific) {
    const std::size_t e = text.find('e');
    d.exponent = text.substr(e + 1);
    text.resize(e);
  }
  const std::size_t dot = text.find('.');
  if (dot != std::string::npos && text.size() - dot - 1 > static_cast<std::size_t>(kPrecision)) {
    text = chars(value, format, kPrecision);
    if (scientific) {
      const std::size_t e = text.find('e');
      d.exponent = text.substr(e + 1);
      text.resize(e);
    }
    while (text.back() == '0') text.pop_back();
  }
  const std::size_t point = text.find('.');
  d.integer = text.substr(0, point);
  d.fraction = point == std::string::npos ? "" : text.substr(point + 1);
  if (!d.fraction.empty() && d.fraction.find_first_not_of('0') == std::string::npos) {
    d.fraction.clear();
  }
  return d;
}

// numpy's FloatingFormat: widths fixed from the values shown, then each value padded to them.
class FloatFormat {
 public:
  explicit FloatFormat(const std::vector<double>& shown) {
    std::vector<double> finite;
    bool has_neg_inf = false;
    for (double v : shown) {
      if (std::isfinite(v)) {
        finite.push_back(v);
      } else if (std::isinf(v) && v < 0) {
        has_neg_inf = true;
      }
    }
    double max_abs = 0.0, min_abs = INFINITY;
    for (double v : finite) {
      if (v == 0.0) continue;
      max_abs = std::max(max_abs, std::abs(v));
      min_abs = std::min(min_abs, std::abs(v));
    }
    if (max_abs > 0.0) {
      scientific_ = max_abs >= 1e8 || min_abs < 1e-4 || max_abs / min_abs > 1000.0;
    }
    if (!finite.empty()) {
      std::size_t exp_len = 0;
      for (double v : finite) {
        const Digits d = split_digits(v, scientific_);
        pad_left_ = std::max(pad_left_, d.integer.size());
        precision_ = std::max(precision_, d.fraction.size());
        exp_len = std::max(exp_len, d.exponent.size());
      }
      if (scientific_) {
        exp_digits_ = exp_len - 1;
        pad_right_ = exp_digits_ + 2 + precision_;
      } else {
        pad_right_ = precision_;
      }
    }
    if (finite.size() != shown.size()) {
      const std::size_t nan_len = 3, inf_len = 3 + (has_neg_inf ? 1 : 0);
      const std::size_t offset = pad_right_ + 1;
      const std::size_t widest = std::max(nan_len, inf_len);
      if (widest > offset) pad_left_ = std::max(pad_left_, widest - offset);
    }
  }

  std::string operator()(double value) const {
    if (!std::isfinite(value)) {
      const std::string text = std::isnan(value) ? "nan" : (value < 0 ? "-inf" : "inf");
      const std::size_t width = pad_left_ + pad_right_ + 1;
      return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
    }
    Digits d = split_digits(value, scientific_);
    std::string out(pad_left_ > d.integer.size() ? pad_left_ - d.integer.size() : 0, ' ');
    out += d.integer;
    out += '.';
    if (scientific_) {
      if (d.fraction.size() < precision_) d.fraction.append(precision_ - d.fraction.size(), '0');
      out += d.fraction;
      out += 'e';
      out += d.exponent[0];
      const std::string digits = d.exponent.substr(1);
      if (digits.size() < exp_digits_) out.append(exp_digits_ - digits.size(), '0');
      out += digits;
    } else {
      out += d.fraction;
      if (d.fraction.size() < pad_right_) out.append(pad_right_ - d.fraction.size(), ' ');
    }
    return out;
  }

 private:
  bool scientific_ = false;
  std::size_t pad_left_ = 0;
  std::size_t pad_right_ = 0;
  std::size_t precision_ = 0;
  std::size_t exp_digits_ = 0;
};

// numpy's _extendLine: wrap before `word` if the line would pass `width`.
void extend_line(std::string& s, std::string& line, const std::string& word, std::size_t width,
                 const std::string& next_line_prefix) {
  const bool needs_wrap =
      line.size() + word.size() > width && line.size() > next_line_prefix.size();
  if (needs_wrap) {
    const std::size_t end = line.find_last_not_of(' ');
    s += line.substr(0, end == std::string::npos ? 0 : end + 1);
    s += '\n';
    line = next_line_prefix;
  }
  line += word;
}

class ArrayPrinter {
 public:
  ArrayPrinter(std::span<const double> data, const std::vector<int>& shape)
      : data_(data), shape_(shape), summarize_(data.size() > kThreshold) {
    strides_.assign(shape.size(), 1);
    for (int axis = static_cast<int>(shape.size()) - 2; axis >= 0; --axis) {
      strides_[axis] = strides_[axis + 1] * static_cast<std::size_t>(shape[axis + 1]);
    }
  }

  std::string print() {
    std::vector<double> shown;
    collect(0, 0, shown);
    format_ = std::make_unique<FloatFormat>(shown);
    return recurse(0, 0, " ", kLineWidth);
  }

 private:
  bool summarized(int axis) const { return summarize_ && 2 * kEdgeItems < shape_[axis]; }

  // The indices along `axis` that are printed, in order; -1 marks the "..." gap.
  std::vector<int> shown_indices(int axis) const {
    std::vector<int> indices;
    const int len = shape_[axis];
    if (!summarized(axis)) {
      for (int i = 0; i < len; ++i) indices.push_back(i);
      return indices;
    }
    for (int i = 0; i < kEdgeItems; ++i) indices.push_back(i);
    indices.push_back(-1);
    for (int i = len - kEdgeItems; i < len; ++i) indices.push_back(i);
    return indices;
  }

  void collect(int axis, std::size_t offset, std::vector<double>& out) const {
    if (axis == static_cast<int>(shape_.size())) {
      out.push_back(data_[offset]);
      return;
    }
    for (int i : shown_indices(axis)) {
      if (i >= 0) collect(axis + 1, offset + i * strides_[axis], out);
    }
  }

  std::string recurse(int axis, std::size_t offset, const std::string& hanging_indent,
                      std::size_t width) const {
    if (axis == static_cast<int>(shape_.size())) return (*format_)(data_[offset]);
    const std::string next_indent = hanging_indent + ' ';
    const std::size_t next_width = width - 1;
    const int axes_left = static_cast<int>(shape_.size()) - axis;
    const std::vector<int> indices = shown_indices(axis);
    std::string s;
    if (axes_left == 1) {
      const std::size_t elem_width = width - 1;
      std::string line = hanging_indent;
      for (std::size_t n = 0; n < indices.size(); ++n) {
        const int i = indices[n];
        const std::string word =
            i < 0 ? "..." : recurse(axis + 1, offset + i * strides_[axis], next_indent, next_width);
        extend_line(s, line, word, elem_width, hanging_indent);
        if (n + 1 < indices.size()) line += ' ';
      }
      s += line;
    } else {
      const std::string line_sep(axes_left - 1, '\n');
      for (std::size_t n = 0; n < indices.size(); ++n) {
        const int i = indices[n];
        s += hanging_indent;
        s +=
            i < 0 ? "..." : recurse(axis + 1, offset + i * strides_[axis], next_indent, next_width);
        if (n + 1 < indices.size()) s += line_sep;
      }
    }
    std::string bracketed(1, '[');
    bracketed.append(s, hanging_indent.size());
    bracketed += ']';
    return bracketed;
  }

  std::span<const double> data_;
  std::vector<int> shape_;
  std::vector<std::size_t> strides_;
  bool summarize_;
  std::unique_ptr<FloatFormat> format_;
};

}  // namespace

std::string numpy_str(std::span<const double> data, const std::vector<int>& shape) {
  return ArrayPrinter(data, shape).print();
}

std::string python_fixed(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  return chars(value, std::chars_format::fixed, digits);
}

}  // namespace recur::cli
