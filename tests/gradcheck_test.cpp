// Every BPTT gradient against central finite differences, at several sizes and batch sizes,
// in double and in float. The finite differences are always taken in double: they are the
// truth the float gradients are held to, with a looser tolerance.
#include "recur/gradcheck.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "recur/loss.hpp"
#include "recur/random.hpp"

namespace recur {
namespace {

struct Case {
  int seq_len, batch_size, input_size, hidden_size, output_size;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "T=" << c.seq_len << " B=" << c.batch_size << " I=" << c.input_size
      << " H=" << c.hidden_size << " O=" << c.output_size << " "
      << nonlinearity_name(c.nonlinearity);
}

class GradientCheck : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    NumpyRandom random(11 + c.hidden_size);
    reference_ = std::make_unique<Network<double>>(
        NetworkConfig{c.input_size, c.hidden_size, c.output_size, c.nonlinearity});
    // Weights large enough that tanh is far from linear and the recurrence matters.
    for (double& p : reference_->parameters()) p = 0.4 * random.randn();
    x_.resize(c.seq_len * c.batch_size * c.input_size);
    target_.resize(c.seq_len * c.batch_size * c.output_size);
    for (double& v : x_) v = random.randn();
    for (double& v : target_) v = random.randn();
    numeric_ = numeric_gradients(*reference_, x_, target_, c.seq_len, c.batch_size, 1e-5);
  }

  template <typename T>
  std::vector<double> analytic() {
    const Case& c = GetParam();
    Network<T> net({c.input_size, c.hidden_size, c.output_size, c.nonlinearity});
    std::copy(reference_->parameters().begin(), reference_->parameters().end(),
              net.parameters().begin());
    const std::vector<T> x(x_.begin(), x_.end()), target(target_.begin(), target_.end());
    std::vector<T> dy(target.size());
    sse_loss<T>(net.forward(x, c.seq_len, c.batch_size), target, dy);
    net.backward(dy);
    return std::vector<double>(net.gradients().begin(), net.gradients().end());
  }

  void expect_close(const std::vector<double>& grads, double tolerance) {
    for (const TensorError& e : compare_gradients(reference_->tensors(), grads, numeric_)) {
      EXPECT_LE(e.max_relative_error, tolerance) << e.name;
    }
  }

  std::unique_ptr<Network<double>> reference_;
  std::vector<double> x_, target_, numeric_;
};

TEST_P(GradientCheck, DoubleMatchesFiniteDifferences) {
  expect_close(analytic<double>(), 1e-6);
}

TEST_P(GradientCheck, FloatMatchesFiniteDifferences) {
  expect_close(analytic<float>(), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Sizes, GradientCheck,
                         ::testing::Values(Case{1, 1, 1, 1, 1}, Case{10, 1, 1, 8, 1},
                                           Case{7, 3, 4, 6, 2}, Case{5, 8, 3, 16, 5},
                                           Case{20, 2, 2, 5, 3}, Case{4, 5, 9, 33, 1},
                                           Case{8, 3, 2, 6, 2, Nonlinearity::kRelu},
                                           Case{15, 1, 1, 8, 1, Nonlinearity::kRelu}));

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
