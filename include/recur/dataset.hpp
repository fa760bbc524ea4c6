// From a CSV table to sequences of inputs and targets, and from sequences to padded batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recur/csv.hpp"

namespace recur {

struct DataSpec {
  std::vector<std::string> input_columns;
  std::vector<std::string> target_columns;
  std::string sequence_column;  // empty: the whole file is one sequence
  // Targets are the next step's values: a sequence of n rows gives n - 1 steps, the inputs
  // of rows 0..n-2 and the targets of rows 1..n-1. Required when a column is both.
  bool forecast = false;
  int window = 0;  // > 0: cut sequences into windows of this many steps
  int stride = 0;  // between window starts; 0 means window
};

struct Sequence {
  std::string id;               // the sequence column's value, or "" for the whole file
  int length = 0;               // steps
  std::vector<double> inputs;   // [length, I]
  std::vector<double> targets;  // [length, O]
  // Symbols (a character model's): when set, [length] class indices that stand for one-hot
  // inputs or targets, and inputs or targets above are empty. Batches expand them.
  std::vector<int> input_classes, target_classes;
  int first_line = 0;  // of its first row, for messages
};

// Throws Error naming the file, line and column for a missing column, a cell that is not a
// finite number, a sequence whose rows are not consecutive, or one shorter than 2 rows.
// Windows: starts 0, stride, 2 stride, ... while a whole window fits; a sequence shorter
// than the window is kept whole.
std::vector<Sequence> build_sequences(const CsvTable& table, const DataSpec& spec);

// Per-feature mean and standard deviation (population), as z-score normalisation uses them.
struct Normalization {
  std::vector<double> input_mean, input_std, target_mean, target_std;
  // From the given sequences; a feature with zero spread gets std 1.
  static Normalization fit(const std::vector<Sequence>& sequences, int inputs, int targets);
  static Normalization identity(int inputs, int targets);
  void apply(Sequence& s) const;
  void apply_inputs(std::vector<double>& inputs) const;     // [steps, I]
  void invert_targets(std::vector<double>& targets) const;  // [steps, O], back to data units
};

// A padded batch: sequences laid out time-major, [max_length, B, F], with their lengths.
template <typename T>
struct Batch {
  int seq_len = 0, batch_size = 0;
  std::vector<T> x, target;
  std::vector<int> lengths;
};

// Pads sequences[indices[first .. first + count)] into `batch`, reusing its storage; class
// indices become one-hot rows.
template <typename T>
void make_batch(const std::vector<Sequence>& sequences, const std::vector<int>& indices, int first,
                int count, int inputs, int targets, Batch<T>& batch);

}  // namespace recur
