#include "recur/train.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "recur/error.hpp"
#include "recur/random.hpp"

namespace recur {

double LossTotal::value(LossKind kind) const {
  return kind == LossKind::kSse ? sum : sum / count;
}

template <typename T>
Trainer<T>::Trainer(Network<T>& network, const std::vector<Sequence>& train,
                    const std::vector<Sequence>& validation, const TrainSettings& settings)
    : network_(network),
      train_(train),
      validation_(validation),
      settings_(settings),
      optimizer_(settings.optimizer, network.parameters().size()),
      inputs_(network.config().input_size),
      targets_(network.config().output_size) {
  if (train.empty()) throw Error("train: no training sequences");
  if (settings.batch_size <= 0) throw Error("train: batch size must be positive");
  if (settings.bptt < 0) throw Error("train: bptt must be 0 (full) or positive");
  if (settings.bptt > 0 && network.config().bidirectional) {
    throw Error(
        "train: truncated BPTT carries the state forward in time, which a bidirectional "
        "network's reverse direction cannot use; use full BPTT");
  }
  for (const auto* set : {&train, &validation}) {
    for (const Sequence& s : *set) {
      const auto fits = [&](const std::vector<double>& values, const std::vector<int>& classes,
                            int features) {
        if (classes.empty()) return values.size() == static_cast<std::size_t>(s.length) * features;
        return classes.size() == static_cast<std::size_t>(s.length) &&
               std::all_of(classes.begin(), classes.end(),
                           [&](int c) { return c >= 0 && c < features; });
      };
      if (!fits(s.inputs, s.input_classes, inputs_) ||
          !fits(s.targets, s.target_classes, targets_)) {
        throw Error("train: a sequence's features do not match the network's sizes");
      }
    }
  }
}

template <typename T>
int Trainer<T>::batches_per_epoch() const {
  const auto n = static_cast<long long>(train_.size());
  return static_cast<int>((n + settings_.batch_size - 1) / settings_.batch_size);
}

template <typename T>
std::vector<int> Trainer<T>::epoch_order(int epoch) const {
  std::vector<int> order(train_.size());
  std::iota(order.begin(), order.end(), 0);
  // Fisher-Yates from a stream seeded by (seed, epoch) alone.
  NumpyRandom random(settings_.seed ^ (0x9e3779b9U * static_cast<std::uint32_t>(epoch + 1)));
  for (std::size_t i = order.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(random.random_sample() * static_cast<double>(i));
    std::swap(order[i - 1], order[std::min(j, i - 1)]);
  }
  return order;
}

template <typename T>
double Trainer<T>::forward_chunk(int start, int steps, std::span<const T> h0, LossTotal& total) {
  const int count = batch_.batch_size;
  chunk_lengths_.resize(count);
  chunk_first_.resize(count);
  for (int b = 0; b < count; ++b) {
    chunk_lengths_[b] = std::clamp(batch_.lengths[b] - start, 0, steps);
    // Many-to-one: only the sequence's last step counts, and only in the chunk that holds it.
    const int last = batch_.lengths[b] - 1 - start;
    chunk_first_[b] = !settings_.last_step_only     ? 0
                      : (last >= 0 && last < steps) ? last
                                                    : chunk_lengths_[b];
  }
  const std::size_t rows = static_cast<std::size_t>(start) * count;  // time-major: contiguous
  const std::span<const T> x = std::span<const T>(batch_.x).subspan(
      rows * inputs_, static_cast<std::size_t>(steps) * count * inputs_);
  const std::span<const T> target =
      std::span<const T>(batch_.target)
          .subspan(rows * targets_, static_cast<std::size_t>(steps) * count * targets_);
  const auto y = network_.forward(x, steps, count, chunk_lengths_, h0);
  dy_.resize(target.size());
  const double loss =
      masked_loss<T>(settings_.loss, y, target, dy_, steps, count, chunk_lengths_, chunk_first_);
  double counted_steps = 0;
  for (int b = 0; b < count; ++b) counted_steps += chunk_lengths_[b] - chunk_first_[b];
  const double values = counted_steps * counted_per_step(settings_.loss, targets_);
  chunk_counted_ = values;
  total.sum += settings_.loss == LossKind::kSse ? loss : loss * values;
  total.count += values;
  return loss;
}

template <typename T>
double Trainer<T>::update(double loss, int epoch, int step) {
  auto diverged = [&](const std::string& what, double value) {
    return Error("epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step) +
                 ": the " + what + " is " +
                 (std::isnan(value) ? std::string("NaN")
                  : value > 0       ? "inf"
                                    : "-inf") +
                 "; training stopped before this update (a smaller learning rate or gradient "
                 "clipping may help)");
  };
  if (!std::isfinite(loss)) throw diverged("loss", loss);
  network_.backward(dy_);
  const double norm = global_norm(std::span<const T>(network_.gradients()));
  if (!std::isfinite(norm)) throw diverged("gradient norm", norm);
  if (settings_.clip > 0) clip_grad_norm(network_.gradients(), settings_.clip);
  optimizer_.step(network_.parameters(), network_.gradients());
  return norm;
}

template <typename T>
void Trainer<T>::set_position(const EpochPosition& position) {
  if (position.epoch >= 0 && (position.batches < 0 || position.batches >= batches_per_epoch() ||
                              position.updates < 0 || !(position.total.count >= 0))) {
    throw Error("train: an epoch position of " + std::to_string(position.batches) +
                " batches done (" + std::to_string(position.updates) +
                " updates) does not fit this run's " + std::to_string(batches_per_epoch()) +
                " batches per epoch");
  }
  position_ = position;
}

template <typename T>
double Trainer<T>::run_epoch(int epoch,
                             const std::function<void(int, int, double, double)>& on_step) {
  const std::vector<int> order = epoch_order(epoch);
  const int n = static_cast<int>(order.size());
  if (position_.epoch != epoch) {
    position_ = EpochPosition{};
    position_.epoch = epoch;
  }
  network_.set_training(true);
  EpochPosition& at = position_;
  for (int first = at.batches * settings_.batch_size; first < n; first += settings_.batch_size) {
    // Dropout masks, like the order, depend on (seed, epoch, batch) alone.
    network_.set_dropout_seed(settings_.seed ^
                              (0x85ebca6bU * static_cast<std::uint32_t>(epoch + 1)) ^
                              (0xc2b2ae35U * static_cast<std::uint32_t>(at.batches)));
    const int count = std::min(settings_.batch_size, n - first);
    make_batch(train_, order, first, count, inputs_, targets_, batch_);
    // Full BPTT is one chunk; truncated BPTT walks chunks of bptt steps, each one update,
    // carrying the hidden state forward and cutting the gradient at the chunk's start.
    const int chunk = settings_.bptt > 0 ? settings_.bptt : batch_.seq_len;
    double norm = 0.0;
    for (int start = 0; start < batch_.seq_len; start += chunk) {
      const int steps = std::min(chunk, batch_.seq_len - start);
      const double loss =
          forward_chunk(start, steps, start == 0 ? std::span<const T>() : state_, at.total);
      if (chunk_counted_ > 0) {  // a chunk with no step in the loss has nothing to learn from
        norm = update(loss, epoch, at.batches + 1);
        at.norm_sum += norm;
        ++at.updates;
      }
      if (start + steps < batch_.seq_len) {
        state_.resize(network_.state_size(count));
        network_.final_state(state_);
      }
    }
    ++at.batches;
    if (on_step) on_step(at.batches, batches_per_epoch(), at.total.value(settings_.loss), norm);
    if (stop_ && stop_->load() && first + count < n) {
      network_.set_training(false);
      return NAN;
    }
  }
  network_.set_training(false);
  mean_grad_norm_ = at.updates > 0 ? at.norm_sum / at.updates : 0.0;
  const double loss = at.total.value(settings_.loss);
  position_ = EpochPosition{};
  return loss;
}

template <typename T>
double Trainer<T>::evaluate(const std::vector<Sequence>& sequences) {
  if (sequences.empty()) throw Error("evaluate: no sequences");
  network_.set_training(false);
  std::vector<int> order(sequences.size());
  std::iota(order.begin(), order.end(), 0);
  const int n = static_cast<int>(order.size());
  LossTotal total;
  for (int first = 0; first < n; first += settings_.batch_size) {
    const int count = std::min(settings_.batch_size, n - first);
    make_batch(sequences, order, first, count, inputs_, targets_, batch_);
    forward_chunk(0, batch_.seq_len, {}, total);
  }
  return total.value(settings_.loss);
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace recur
