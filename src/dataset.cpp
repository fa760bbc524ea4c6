#include "recur/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "recur/error.hpp"

namespace recur {

namespace {

// Rows [first, last) of the table as one sequence of (inputs, targets).
Sequence make_sequence(const CsvTable& table, const std::vector<int>& in_cols,
                       const std::vector<int>& out_cols, bool forecast, int first, int last,
                       const std::string& id) {
  const int rows = last - first;
  if (rows < 2) {
    throw Error(table.source + ":" + std::to_string(table.lines[first]) + ": sequence" +
                (id.empty() ? "" : " \"" + id + "\"") + " has " + std::to_string(rows) +
                " row; a sequence needs at least 2 steps");
  }
  Sequence s;
  s.id = id;
  s.first_line = table.lines[first];
  s.length = forecast ? rows - 1 : rows;
  for (int t = 0; t < s.length; ++t) {
    for (int c : in_cols) s.inputs.push_back(table.number(first + t, c));
    for (int c : out_cols) s.targets.push_back(table.number(first + t + (forecast ? 1 : 0), c));
  }
  return s;
}

std::vector<Sequence> cut_windows(const Sequence& s, int window, int stride, int inputs,
                                  int targets) {
  if (s.length <= window) return {s};
  std::vector<Sequence> windows;
  for (int start = 0; start + window <= s.length; start += stride) {
    Sequence w;
    w.id = s.id;
    w.first_line = s.first_line + start;
    w.length = window;
    w.inputs.assign(s.inputs.begin() + start * inputs,
                    s.inputs.begin() + (start + window) * inputs);
    w.targets.assign(s.targets.begin() + start * targets,
                     s.targets.begin() + (start + window) * targets);
    windows.push_back(std::move(w));
  }
  return windows;
}

}  // namespace

std::vector<Sequence> build_sequences(const CsvTable& table, const DataSpec& spec) {
  if (spec.input_columns.empty()) throw Error("data: no input columns given");
  if (spec.target_columns.empty()) throw Error("data: no target columns given");
  std::vector<int> in_cols, out_cols;
  for (const std::string& name : spec.input_columns) in_cols.push_back(table.column(name));
  for (const std::string& name : spec.target_columns) {
    out_cols.push_back(table.column(name));
    const bool also_input = std::find(spec.input_columns.begin(), spec.input_columns.end(), name) !=
                            spec.input_columns.end();
    if (also_input && !spec.forecast) {
      throw Error("data: column \"" + name +
                  "\" is both an input and a target; add --forecast to predict its next value");
    }
  }
  std::vector<Sequence> sequences;
  const int rows = table.row_count();
  if (spec.sequence_column.empty()) {
    sequences.push_back(make_sequence(table, in_cols, out_cols, spec.forecast, 0, rows, ""));
  } else {
    const int id_col = table.column(spec.sequence_column);
    std::map<std::string, int> seen;  // id -> line of its first row
    int first = 0;
    for (int r = 1; r <= rows; ++r) {
      if (r < rows && table.cell(r, id_col) == table.cell(first, id_col)) continue;
      const std::string id(table.cell(first, id_col));
      if (const auto it = seen.find(id); it != seen.end()) {
        throw Error(table.source + ":" + std::to_string(table.lines[first]) + ": sequence \"" + id +
                    "\" started before, at line " + std::to_string(it->second) +
                    "; the rows of one sequence must be consecutive");
      }
      seen[id] = table.lines[first];
      sequences.push_back(make_sequence(table, in_cols, out_cols, spec.forecast, first, r, id));
      first = r;
    }
  }
  if (spec.window > 0) {
    const int stride = spec.stride > 0 ? spec.stride : spec.window;
    std::vector<Sequence> windows;
    for (const Sequence& s : sequences) {
      for (Sequence& w : cut_windows(s, spec.window, stride, static_cast<int>(in_cols.size()),
                                     static_cast<int>(out_cols.size()))) {
        windows.push_back(std::move(w));
      }
    }
    sequences = std::move(windows);
  }
  return sequences;
}

Normalization Normalization::identity(int inputs, int targets) {
  return {std::vector<double>(inputs, 0.0), std::vector<double>(inputs, 1.0),
          std::vector<double>(targets, 0.0), std::vector<double>(targets, 1.0)};
}

Normalization Normalization::fit(const std::vector<Sequence>& sequences, int inputs, int targets) {
  Normalization n = identity(inputs, targets);
  // Each column is first divided by its largest magnitude, so that sums of values as large
  // as 1e308 stay finite; the statistics are scaled back at the end.
  auto moments = [&](auto values_of, int width, std::vector<double>& mean,
                     std::vector<double>& std_dev) {
    std::vector<double> scale(width, 0.0), sum(width, 0.0), sum_sq(width, 0.0);
    double count = 0;
    for (const Sequence& s : sequences) {
      const std::vector<double>& v = values_of(s);
      for (int t = 0; t < s.length; ++t) {
        for (int f = 0; f < width; ++f) scale[f] = std::max(scale[f], std::abs(v[t * width + f]));
      }
      count += s.length;
    }
    for (double& c : scale) c = c > 0 ? c : 1.0;
    for (const Sequence& s : sequences) {
      const std::vector<double>& v = values_of(s);
      for (int t = 0; t < s.length; ++t) {
        for (int f = 0; f < width; ++f) sum[f] += v[t * width + f] / scale[f];
      }
    }
    std::vector<double> scaled_mean(width);
    for (int f = 0; f < width; ++f) scaled_mean[f] = sum[f] / count;
    for (const Sequence& s : sequences) {
      const std::vector<double>& v = values_of(s);
      for (int t = 0; t < s.length; ++t) {
        for (int f = 0; f < width; ++f) {
          const double d = v[t * width + f] / scale[f] - scaled_mean[f];
          sum_sq[f] += d * d;
        }
      }
    }
    for (int f = 0; f < width; ++f) {
      mean[f] = scaled_mean[f] * scale[f];
      const double sd = std::sqrt(sum_sq[f] / count) * scale[f];
      std_dev[f] = sd > 0 && std::isfinite(sd) ? sd : 1.0;
    }
  };
  moments([](const Sequence& s) -> const std::vector<double>& { return s.inputs; }, inputs,
          n.input_mean, n.input_std);
  moments([](const Sequence& s) -> const std::vector<double>& { return s.targets; }, targets,
          n.target_mean, n.target_std);
  return n;
}

void Normalization::apply_inputs(std::vector<double>& inputs) const {
  const std::size_t width = input_mean.size();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    inputs[i] = (inputs[i] - input_mean[i % width]) / input_std[i % width];
  }
}

void Normalization::apply(Sequence& s) const {
  apply_inputs(s.inputs);
  const std::size_t width = target_mean.size();
  for (std::size_t i = 0; i < s.targets.size(); ++i) {
    s.targets[i] = (s.targets[i] - target_mean[i % width]) / target_std[i % width];
  }
}

void Normalization::invert_targets(std::vector<double>& targets) const {
  const std::size_t width = target_mean.size();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    targets[i] = targets[i] * target_std[i % width] + target_mean[i % width];
  }
}

template <typename T>
void make_batch(const std::vector<Sequence>& sequences, const std::vector<int>& indices, int first,
                int count, int inputs, int targets, Batch<T>& batch) {
  batch.batch_size = count;
  batch.seq_len = 0;
  batch.lengths.resize(count);
  for (int b = 0; b < count; ++b) {
    batch.lengths[b] = sequences[indices[first + b]].length;
    batch.seq_len = std::max(batch.seq_len, batch.lengths[b]);
  }
  const std::size_t steps = static_cast<std::size_t>(batch.seq_len) * count;
  batch.x.assign(steps * inputs, T(0));
  batch.target.assign(steps * targets, T(0));
  for (int b = 0; b < count; ++b) {
    const Sequence& s = sequences[indices[first + b]];
    for (int t = 0; t < s.length; ++t) {
      const std::size_t row = static_cast<std::size_t>(t) * count + b;
      if (!s.input_classes.empty()) {
        batch.x[row * inputs + s.input_classes[t]] = T(1);
      } else {
        for (int f = 0; f < inputs; ++f) {
          batch.x[row * inputs + f] = static_cast<T>(s.inputs[t * inputs + f]);
        }
      }
      if (!s.target_classes.empty()) {
        batch.target[row * targets + s.target_classes[t]] = T(1);
      } else {
        for (int f = 0; f < targets; ++f) {
          batch.target[row * targets + f] = static_cast<T>(s.targets[t * targets + f]);
        }
      }
    }
  }
}

template void make_batch<float>(const std::vector<Sequence>&, const std::vector<int>&, int, int,
                                int, int, Batch<float>&);
template void make_batch<double>(const std::vector<Sequence>&, const std::vector<int>&, int, int,
                                 int, int, Batch<double>&);

}  // namespace recur
