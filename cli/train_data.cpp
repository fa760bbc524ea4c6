#include "train_data.hpp"

#include <cmath>

#include "recur/error.hpp"
#include "recur/safetensors.hpp"
#include "recur/text.hpp"

namespace recur::cli {

namespace {

// The last round(fraction * n) sequences (at least one if fraction > 0) are held out.
void split(const std::string& path, double fraction, TrainingData& data) {
  std::vector<Sequence>& all = data.train;
  const int n = static_cast<int>(all.size());
  int held = static_cast<int>(std::lround(fraction * n));
  if (fraction > 0 && held == 0) held = 1;
  if (held >= n) {
    throw Error(path + ": " + std::to_string(n) +
                " sequence(s) (after windows), too few to hold out " + std::to_string(held) +
                " for validation");
  }
  data.validation.assign(all.end() - held, all.end());
  all.resize(n - held);
}

}  // namespace

TrainingData load_csv(const std::string& path, double validation, DataMetadata& meta) {
  TrainingData data;
  data.train = build_sequences(read_csv(path), meta.spec);
  split(path, validation, data);
  data.inputs = static_cast<int>(meta.spec.input_columns.size());
  data.targets = static_cast<int>(meta.spec.target_columns.size());
  meta.normalization = meta.normalize == "zscore"
                           ? Normalization::fit(data.train, data.inputs, data.targets)
                           : Normalization::identity(data.inputs, data.targets);
  if (meta.loss == LossKind::kCrossEntropy) {  // targets are classes, not measurements
    const Normalization identity = Normalization::identity(data.inputs, data.targets);
    meta.normalization.target_mean = identity.target_mean;
    meta.normalization.target_std = identity.target_std;
  }
  for (Sequence& s : data.train) meta.normalization.apply(s);
  for (Sequence& s : data.validation) meta.normalization.apply(s);
  return data;
}

TrainingData load_text(const std::string& path, int window, double validation, DataMetadata& meta) {
  const std::vector<unsigned char> bytes = read_file(path);
  const std::u32string text = decode_utf8(bytes, path);
  if (text.size() < 2) throw Error(path + ": fewer than 2 characters; nothing to learn from");
  const Vocabulary vocabulary = Vocabulary::of(text, path);
  meta.vocabulary.assign(vocabulary.symbols().begin(), vocabulary.symbols().end());
  meta.loss = LossKind::kCrossEntropy;
  TrainingData data;
  data.train = text_sequences(text, vocabulary, window);
  split(path, validation, data);
  data.inputs = data.targets = vocabulary.size();
  return data;
}

}  // namespace recur::cli
