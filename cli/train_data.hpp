// What `recur train` learns from: a CSV file's columns or a text file's characters, split
// into training and validation sequences (the validation set is the last sequences).
#pragma once

#include <string>
#include <vector>

#include "model_metadata.hpp"
#include "recur/dataset.hpp"

namespace recur::cli {

struct TrainingData {
  std::vector<Sequence> train, validation;
  int inputs = 0, targets = 0;
};

// The columns meta.spec names; normalisation (meta.normalize) fitted on the training
// sequences and stored in meta, for inputs and, except for cross-entropy's classes, targets.
TrainingData load_csv(const std::string& path, double validation, DataMetadata& meta);

// Windows of `window` characters; the vocabulary (of the whole file) stored in meta. Text
// files larger than max_bytes are refused before they are read.
TrainingData load_text(const std::string& path, int window, double validation, DataMetadata& meta);

}  // namespace recur::cli
