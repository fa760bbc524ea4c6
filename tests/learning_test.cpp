// A stacked LSTM learns: the adding problem (Hochreiter & Schmidhuber), where each step holds
// a value and a marker, and the target at the last step is the sum of the two marked values.
// A model that ignores the markers can do no better than the sum's variance, 2/12.
#include <gtest/gtest.h>

#include <vector>

#include "recur/init.hpp"
#include "recur/loss.hpp"
#include "recur/network.hpp"
#include "recur/optim.hpp"
#include "recur/random.hpp"

namespace recur {
namespace {

struct AddingBatch {
  std::vector<float> x, target;
  std::vector<int> lengths, last;
};

AddingBatch adding_batch(NumpyRandom& random, int T, int B) {
  AddingBatch batch{std::vector<float>(T * B * 2), std::vector<float>(T * B, 0.0f),
                    std::vector<int>(B, T), std::vector<int>(B, T - 1)};
  for (int b = 0; b < B; ++b) {
    const int first = static_cast<int>(random.random_sample() * (T / 2));
    const int second = T / 2 + static_cast<int>(random.random_sample() * (T / 2));
    double sum = 0;
    for (int t = 0; t < T; ++t) {
      const double value = random.random_sample();
      const bool marked = t == first || t == second;
      batch.x[(t * B + b) * 2] = static_cast<float>(value);
      batch.x[(t * B + b) * 2 + 1] = marked ? 1.0f : 0.0f;
      if (marked) sum += value;
    }
    batch.target[(T - 1) * B + b] = static_cast<float>(sum);
  }
  return batch;
}

double adding_loss(Network<float>& net, const AddingBatch& batch, int T, int B,
                   std::vector<float>& dy) {
  const auto y = net.forward(batch.x, T, B, batch.lengths);
  return masked_loss<float>(LossKind::kMse, y, batch.target, dy, T, B, batch.lengths, batch.last);
}

TEST(Learning, TwoLayerLstmSolvesTheAddingProblem) {
  const int T = 10, B = 32, steps = 600;
  Network<float> net({2, 24, 1, Nonlinearity::kTanh, CellKind::kLstm, 2});
  NumpyRandom random(5);
  initialize(net, InitMethod::kPytorch, random);
  OptimizerSettings settings;
  settings.kind = OptimizerKind::kAdam;
  settings.learning_rate = 0.01;
  Optimizer<float> adam(settings, net.parameters().size());
  std::vector<float> dy(T * B);
  for (int step = 0; step < steps; ++step) {
    const AddingBatch batch = adding_batch(random, T, B);
    adding_loss(net, batch, T, B, dy);
    net.backward(dy);
    adam.step(net.parameters(), net.gradients());
  }
  double held_out = 0;
  for (int k = 0; k < 8; ++k) held_out += adding_loss(net, adding_batch(random, T, B), T, B, dy);
  held_out /= 8;
  EXPECT_LT(held_out, 0.01) << "the baseline that ignores the markers scores 2/12 = 0.167";
}

}  // namespace
}  // namespace recur
