// The seed notebook's constants as flags, shared by demo, gradcheck and bench.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "recur/seed.hpp"

namespace recur::cli {

// Flag texts as given; checked by settings(), so that errors name the flag.
struct SeedFlags {
  std::string seed = "42";
  std::string steps = "10";
  std::string input_size = "1";
  std::string hidden = "8";
  std::string lr = "0.01";
  std::string epochs = "200";
  std::string scale = "2";
  std::string init_scale = "0.01";
  std::string batch = "1";

  // Registers the data and network flags: --seed --steps --input-size --hidden --scale
  // --init-scale.
  void add_model_flags(CLI::App& app);
  // Registers the training flags: --lr --epochs.
  void add_training_flags(CLI::App& app);
  void add_batch_flag(CLI::App& app);

  // The checked values; throws UsageError naming the first bad flag, or the size flags if
  // together they would need more than half of this machine's memory.
  SeedSettings settings() const;

 private:
  static void check_memory(const SeedSettings& settings);
};

}  // namespace recur::cli
