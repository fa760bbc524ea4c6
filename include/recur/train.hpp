// Training on sequences: minibatches of padded sequences, one optimizer step per batch (or
// per chunk of a batch, with truncated BPTT), a validation pass per epoch. Each epoch's order is a
// function of (seed, epoch) alone, so a run resumed from a checkpoint after epoch k reaches the
// same parameters as one that never stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "recur/dataset.hpp"
#include "recur/loss.hpp"
#include "recur/network.hpp"
#include "recur/optim.hpp"

namespace recur {

struct TrainSettings {
  OptimizerSettings optimizer;
  double clip = 0.0;            // > 0: clip gradients to this global norm before each step
  int bptt = 0;                 // > 0: truncated BPTT in chunks of this many steps, one update each
  bool last_step_only = false;  // many-to-one: the loss counts each sequence's last step
  LossKind loss = LossKind::kMse;
  int batch_size = 32;
  std::uint32_t seed = 0;
};

// The loss over a set of sequences: for mse the mean over every real value, for sse the sum,
// whatever the batches.
struct LossTotal {
  double sum = 0.0;    // sse: the loss; mse: the sum of squared errors
  double count = 0.0;  // real values seen
  double value(LossKind kind) const;
};

// How far an epoch has gone: the batches done and their sums, so that an epoch stopped
// between two batches (Ctrl-C) continues from a checkpoint exactly where it stopped.
struct EpochPosition {
  int epoch = -1;   // the epoch under way; -1: none
  int batches = 0;  // batches finished in it
  LossTotal total;  // their loss, as run_epoch sums it
  double norm_sum = 0.0;
  int updates = 0;
};

template <typename T>
class Trainer {
 public:
  // `train` must not be empty; `validation` may be. Both outlive the trainer.
  Trainer(Network<T>& network, const std::vector<Sequence>& train,
          const std::vector<Sequence>& validation, const TrainSettings& settings);

  int batches_per_epoch() const;
  double mean_grad_norm() const { return mean_grad_norm_; }
  Optimizer<T>& optimizer() { return optimizer_; }

  // One pass over the training sequences in the order of (seed, epoch); after each step,
  // on_step(step, batches_per_epoch(), running training loss, that step's global gradient
  // norm before clipping). Returns the epoch's training loss, measured on each batch before
  // its update; mean_grad_norm() is then the mean of the epoch's gradient norms.
  // With a stop flag set (set_stop), run_epoch returns NaN after the batch during which the
  // flag was raised, unless that batch was the last; position() then says where it stopped,
  // and the next run_epoch of the same epoch (or one with set_position from a checkpoint)
  // goes on from there, with the same result as a run that never stopped.
  double run_epoch(int epoch, const std::function<void(int, int, double, double)>& on_step = {});
  void set_stop(const std::atomic<bool>* stop) { stop_ = stop; }
  const EpochPosition& position() const { return position_; }
  void set_position(const EpochPosition& position);

  // The loss on a set of sequences, without updating anything.
  double evaluate(const std::vector<Sequence>& sequences);

  // The order of the training sequences in an epoch.
  std::vector<int> epoch_order(int epoch) const;

 private:
  // Forward and loss of steps [start, start + steps) of batch_ from state h0 (empty: zeros),
  // added to total; returns the chunk's loss and leaves dLoss/dy in dy_.
  double forward_chunk(int start, int steps, std::span<const T> h0, LossTotal& total);
  // Backward, clipping and one optimizer step; returns the gradient norm before clipping.
  // A loss or gradient that is not finite throws Error naming the epoch and the step (the
  // batch, counted from 1 within the epoch, as the progress line counts), before the
  // parameters are touched.
  double update(double loss, int epoch, int step);

  Network<T>& network_;
  const std::vector<Sequence>& train_;
  const std::vector<Sequence>& validation_;
  TrainSettings settings_;
  Optimizer<T> optimizer_;
  int inputs_, targets_;
  Batch<T> batch_;
  std::vector<T> dy_;
  std::vector<int> chunk_lengths_;
  std::vector<int> chunk_first_;  // the first step of each sequence the loss counts
  double chunk_counted_ = 0;      // values the last chunk's loss counted
  std::vector<T> state_;          // the hidden state carried between truncated-BPTT chunks
  double mean_grad_norm_ = 0.0;
  EpochPosition position_;
  const std::atomic<bool>* stop_ = nullptr;
};

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace recur
