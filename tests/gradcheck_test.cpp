// Every BPTT gradient against central finite differences: every cell and nonlinearity, one and
// two layers, one and two directions, padded batches, an initial state (a truncated-BPTT
// chunk) and dropout, in double and in float. The finite differences are always taken in
// extended precision: they are the truth the float gradients are held to, more loosely.
#include "recur/gradcheck.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "recur/loss.hpp"
#include "recur/random.hpp"

namespace recur {
namespace {

struct Case {
  int seq_len, batch_size, input_size, hidden_size, output_size;
  CellKind cell = CellKind::kElman;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
  int layers = 1;
  bool bidirectional = false;
  bool padded = false;  // lengths T, T - 2, 1, ...
  bool state = false;   // a random initial state
  double dropout = 0.0;

  NetworkConfig config() const {
    return {input_size, hidden_size, output_size,   nonlinearity,
            cell,       layers,      bidirectional, dropout};
  }
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << cell_name(c.cell) << " T=" << c.seq_len << " B=" << c.batch_size << " I=" << c.input_size
      << " H=" << c.hidden_size << " O=" << c.output_size << " "
      << nonlinearity_name(c.nonlinearity) << " layers=" << c.layers
      << (c.bidirectional ? " bidirectional" : "") << (c.padded ? " padded" : "")
      << (c.state ? " state0" : "") << " dropout=" << c.dropout;
}

class GradientCheck : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    NumpyRandom random(11 + c.hidden_size);
    reference_ = std::make_unique<Network<double>>(c.config());
    // Weights large enough that the cells are far from linear and the recurrence matters.
    for (double& p : reference_->parameters()) p = 0.4 * random.randn();
    x_.resize(c.seq_len * c.batch_size * c.input_size);
    target_.resize(c.seq_len * c.batch_size * c.output_size);
    for (double& v : x_) v = random.randn();
    for (double& v : target_) v = random.randn();
    if (c.padded) {
      for (int b = 0; b < c.batch_size; ++b) lengths_.push_back(std::max(c.seq_len - 2 * b, 1));
    }
    if (c.state) {
      state_.resize(reference_->state_size(c.batch_size));
      for (double& v : state_) v = 0.5 * random.randn();
    }
    inputs_ = {lengths_, state_, c.dropout > 0, 7};
    numeric_ = numeric_gradients(*reference_, x_, target_, c.seq_len, c.batch_size, 1e-5, inputs_);
  }

  template <typename T>
  std::vector<double> analytic() {
    const Case& c = GetParam();
    Network<T> net(c.config());
    std::copy(reference_->parameters().begin(), reference_->parameters().end(),
              net.parameters().begin());
    if (inputs_.dropout) {
      net.set_training(true);
      net.set_dropout_seed(inputs_.dropout_seed);
    }
    const std::vector<T> x(x_.begin(), x_.end()), target(target_.begin(), target_.end());
    const std::vector<T> state(state_.begin(), state_.end());
    std::vector<T> dy(target.size());
    sse_loss<T>(net.forward(x, c.seq_len, c.batch_size, lengths_, state), target, dy);
    net.backward(dy);
    return std::vector<double>(net.gradients().begin(), net.gradients().end());
  }

  void expect_close(const std::vector<double>& grads, double tolerance) {
    for (const TensorError& e : compare_gradients(reference_->tensors(), grads, numeric_)) {
      EXPECT_LE(e.max_relative_error, tolerance) << e.name;
    }
  }

  std::unique_ptr<Network<double>> reference_;
  std::vector<double> x_, target_, numeric_, state_;
  std::vector<int> lengths_;
  GradcheckInputs inputs_;
};

TEST_P(GradientCheck, DoubleMatchesFiniteDifferences) {
  expect_close(analytic<double>(), 1e-6);
}

TEST_P(GradientCheck, FloatMatchesFiniteDifferences) {
  expect_close(analytic<float>(), 2e-3);
}

INSTANTIATE_TEST_SUITE_P(
    ElmanSizes, GradientCheck,
    ::testing::Values(Case{1, 1, 1, 1, 1}, Case{10, 1, 1, 8, 1}, Case{7, 3, 4, 6, 2},
                      Case{5, 8, 3, 16, 5}, Case{20, 2, 2, 5, 3}, Case{4, 5, 9, 33, 1},
                      Case{8, 3, 2, 6, 2, CellKind::kElman, Nonlinearity::kRelu},
                      Case{15, 1, 1, 8, 1, CellKind::kElman, Nonlinearity::kRelu}));

// Every cell x nonlinearity x layers x directions, each with a padded batch and an initial
// state, which is also what a truncated-BPTT chunk after the first sees.
std::vector<Case> every_variant() {
  std::vector<Case> cases;
  const std::pair<CellKind, Nonlinearity> cells[] = {{CellKind::kElman, Nonlinearity::kTanh},
                                                     {CellKind::kElman, Nonlinearity::kRelu},
                                                     {CellKind::kLstm, Nonlinearity::kTanh},
                                                     {CellKind::kGru, Nonlinearity::kTanh}};
  for (const auto& [cell, f] : cells) {
    for (int layers : {1, 2}) {
      for (bool bidirectional : {false, true}) {
        cases.push_back({6, 3, 3, 4, 2, cell, f, layers, bidirectional, true, true});
      }
    }
    cases.push_back({5, 2, 2, 5, 3, cell, f, 1, false, false, false});     // plain
    cases.push_back({5, 3, 2, 3, 2, cell, f, 3, true, true, false, 0.3});  // dropout
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryVariant, GradientCheck, ::testing::ValuesIn(every_variant()));

TEST(Gradcheck, CompareGradientsFindsAWrongElement) {
  Network<double> net({1, 2, 1});
  std::vector<double> numeric(net.parameters().size(), 1.0);
  std::vector<double> analytic = numeric;
  analytic[net.tensor("rnn.weight_hh_l0").offset + 1] = 1.01;
  const auto errors = compare_gradients(net.tensors(), analytic, numeric);
  for (const TensorError& e : errors) {
    if (e.name == "rnn.weight_hh_l0") {
      EXPECT_NEAR(e.max_relative_error, 0.01 / 1.01, 1e-12);
    } else {
      EXPECT_EQ(e.max_relative_error, 0.0) << e.name;
    }
  }
}

}  // namespace
}  // namespace recur
