// What `recur train` stores in a model file's metadata besides the network, so that
// `recur predict` can read the same columns and undo the same normalisation, and
// `recur generate` can map classes back to characters.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "recur/dataset.hpp"
#include "recur/loss.hpp"
#include "recur/train.hpp"

namespace recur::cli {

struct DataMetadata {
  // Character models (trained with --text): the vocabulary's code points, class i being
  // vocabulary[i]; empty for models of CSV columns.
  std::vector<std::uint32_t> vocabulary;
  DataSpec spec;
  std::string normalize = "zscore";  // or "none"
  Normalization normalization;
  LossKind loss = LossKind::kMse;
  bool last_step_only = false;  // --target last: one prediction per sequence
};

std::map<std::string, std::string> to_metadata(const DataMetadata& data);
// Throws Error naming `source` and the key that is missing or malformed.
DataMetadata data_metadata(const std::map<std::string, std::string>& metadata,
                           const std::string& source);

// Where a checkpoint stopped inside an epoch (metadata "epoch_position", a JSON object with
// the epoch counted from 1): written by `recur train` on Ctrl-C, read by --resume. The
// parser throws Error naming `source` and the field that is missing or out of range.
std::string position_metadata(const EpochPosition& position);
EpochPosition parse_position(const std::string& text, const std::string& source);

}  // namespace recur::cli
