// Training progress on stderr: a live line on a terminal, one line per epoch otherwise.
#pragma once

#include <chrono>
#include <string>

namespace recur::cli {

class Progress {
 public:
  // bits_per_step: also show losses (cross-entropy, in nats) in bits, as bits per character.
  explicit Progress(int epochs, bool bits_per_step = false);
  // After each optimizer step of an epoch (1-based).
  void step(int epoch, int step, int steps, double loss, double grad_norm);
  // At the end of an epoch; validation_loss is NaN without validation data.
  void epoch_done(int epoch, double loss, double validation_loss, double grad_norm);
  // Training stopped inside an epoch: ends the live line, if any.
  void interrupted();

 private:
  bool terminal_;
  bool bits_;
  int epochs_;
  long total_steps_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  double last_validation_;
};

}  // namespace recur::cli
