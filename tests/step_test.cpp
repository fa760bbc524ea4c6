// Network::step, the streaming API: the same as forward over the whole sequence, and no
// allocation per step (counted by replacing the global operator new in this test binary).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "packed_gemm.hpp"
#include "recur/error.hpp"
#include "recur/network.hpp"
#include "recur/optim.hpp"
#include "recur/random.hpp"
#include "recur/threads.hpp"
#include "thread_pool.hpp"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// GCC (-O1, with sanitizers) sees free() of what operator new returned and warns of a
// mismatch; this operator new is malloc, so free is its match.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace recur {
namespace {

template <typename T>
void expect_step_equals_forward(Nonlinearity f, double tolerance, CellKind cell = CellKind::kElman,
                                int layers = 1, int B = 3, int H = 7) {
  const int T_len = 9, I = 2, O = 2;
  NumpyRandom random(21);
  Network<T> net({I, H, O, f, cell, layers});
  for (T& p : net.parameters()) p = static_cast<T>(0.5 * random.randn());
  std::vector<T> x(T_len * B * I), h0(net.state_size(B));
  for (T& v : x) v = static_cast<T>(random.randn());
  for (T& v : h0) v = static_cast<T>(0.3 * random.randn());
  const auto whole_view = net.forward(x, T_len, B, {}, h0);
  const std::vector<T> whole(whole_view.begin(), whole_view.end());

  std::vector<T> state = h0, y(B * O);
  for (int t = 0; t < T_len; ++t) {
    net.step(std::span<const T>(x).subspan(t * B * I, B * I), state, y, B);
    for (int i = 0; i < B * O; ++i) EXPECT_NEAR(y[i], whole[t * B * O + i], tolerance);
  }
  std::vector<T> final_state(net.state_size(B));
  net.final_state(final_state);
  for (std::size_t i = 0; i < state.size(); ++i) EXPECT_NEAR(state[i], final_state[i], tolerance);
}

TEST(Step, EqualsForwardOverTheWholeSequence) {
  expect_step_equals_forward<double>(Nonlinearity::kTanh, 1e-14);
  expect_step_equals_forward<float>(Nonlinearity::kTanh, 1e-6);
  expect_step_equals_forward<double>(Nonlinearity::kRelu, 1e-14);
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    for (int layers : {1, 3}) {
      SCOPED_TRACE(std::string(cell_name(cell)) + " layers " + std::to_string(layers));
      expect_step_equals_forward<double>(Nonlinearity::kTanh, 1e-14, cell, layers);
      expect_step_equals_forward<float>(Nonlinearity::kTanh, 1e-5, cell, layers);
    }
  }
}

// Where the steps are packed (B H G above the small loop's limit; Elman of H > 16 floats),
// forward and step both take the input into the step's one product. At H = 20 the step
// packs its weights (use_packed_step) and forward, of batch 1 or 2, does not.
TEST(Step, EqualsForwardWherePacked) {
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    for (int B : {1, 2}) {
      for (int H : {20, 190}) {
        SCOPED_TRACE(std::string(cell_name(cell)) + " batch " + std::to_string(B) + " hidden " +
                     std::to_string(H));
        expect_step_equals_forward<double>(Nonlinearity::kTanh, 1e-13, cell, 2, B, H);
        expect_step_equals_forward<float>(Nonlinearity::kTanh, 1e-5, cell, 2, B, H);
      }
    }
  }
}

TEST(Step, SeesParametersChangedBetweenSteps) {
  // step() prepares the recurrent weights once; asking for writable parameters must make it
  // prepare them again. H = 128 with an LSTM takes the packed path, H = 8 the transposed one.
  for (int H : {8, 128}) {
    Network<float> net({3, H, 2, Nonlinearity::kTanh, CellKind::kLstm});
    NumpyRandom random(5);
    for (float& p : net.parameters()) p = static_cast<float>(0.2 * random.randn());
    std::vector<float> x(3, 0.5f), state(net.state_size(1), 0.1f), y(2), again(2);
    net.step(x, state, y, 1);
    for (float& w : net.parameter("rnn.weight_hh_l0")) w *= -1.5f;
    std::vector<float> state_a = state, state_b = state;
    net.step(x, state_a, y, 1);
    Network<float> fresh(net.config());  // never stepped: prepares from scratch
    std::copy(net.parameters().begin(), net.parameters().end(), fresh.parameters().begin());
    fresh.step(x, state_b, again, 1);
    EXPECT_EQ(y, again) << "H " << H;
    EXPECT_EQ(state_a, state_b) << "H " << H;
  }
}

TEST(Step, AnAssignedNetworkStepsWithItsNewWeights) {
  // a has prepared its weights for step(); after a = b it must step as b does.
  const NetworkConfig config{3, 128, 2, Nonlinearity::kTanh, CellKind::kGru};
  Network<float> a(config), b(config);
  NumpyRandom random(6);
  for (float& p : a.parameters()) p = static_cast<float>(0.2 * random.randn());
  for (float& p : b.parameters()) p = static_cast<float>(0.2 * random.randn());
  std::vector<float> x(3, 0.5f), state_a(a.state_size(1), 0.1f), y_a(2), y_b(2);
  std::vector<float> state_b = state_a;
  a.step(x, state_a, y_a, 1);
  state_a = state_b;
  a = b;
  a.step(x, state_a, y_a, 1);
  b.step(x, state_b, y_b, 1);
  EXPECT_EQ(y_a, y_b);
}

TEST(Step, RefusesABidirectionalNetwork) {
  Network<double> net({2, 3, 1, Nonlinearity::kTanh, CellKind::kGru, 1, true});
  std::vector<double> x(2), state(net.state_size(1)), y(1);
  EXPECT_ANY_THROW(net.step(x, state, y, 1));
}

TEST(Step, AllocatesNothingAfterTheFirstCall) {
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    Network<float> net({4, 32, 3, Nonlinearity::kTanh, cell, 2});
    std::vector<float> x(2 * 4, 0.5f), state(net.state_size(2), 0.0f), y(2 * 3);
    net.step(x, state, y, 2);
    const long before = allocations.load();
    for (int t = 0; t < 1000; ++t) net.step(x, state, y, 2);
    EXPECT_EQ(allocations.load(), before) << cell_name(cell);
  }
}

// The brief's rule, checked: after the first training step of a shape, forward, loss,
// backward and the optimizer allocate nothing, for small networks (recur's own loops) and
// larger ones (Eigen's blocked products).
void expect_training_step_allocates_nothing(int seq_len, int batch, int input, int hidden,
                                            const NetworkConfig& shape = {}) {
  NetworkConfig config = shape;
  config.input_size = input;
  config.hidden_size = hidden;
  config.output_size = 2;
  Network<float> net(config);
  net.set_training(true);
  NumpyRandom random(3);
  for (float& p : net.parameters()) p = static_cast<float>(0.1 * random.randn());
  std::vector<float> x(seq_len * batch * input, 0.25f), dy(seq_len * batch * 2, 0.01f);
  std::vector<int> lengths(batch, seq_len);
  lengths[0] = seq_len / 2 + 1;  // padded
  OptimizerSettings settings;
  settings.kind = OptimizerKind::kAdam;
  Optimizer<float> adam(settings, net.parameters().size());
  auto train_step = [&] {
    net.forward(x, seq_len, batch, lengths);
    net.backward(dy);
    clip_grad_norm(net.gradients(), 0.5);
    adam.step(net.parameters(), net.gradients());
  };
  train_step();
  const long before = allocations.load();
  for (int i = 0; i < 3; ++i) train_step();
  EXPECT_EQ(allocations.load(), before) << "T=" << seq_len << " B=" << batch << " H=" << hidden;
}

TEST(Training, AllocatesNothingAfterTheFirstStep) {
  expect_training_step_allocates_nothing(10, 1, 1, 8);
  expect_training_step_allocates_nothing(20, 4, 3, 32);
  expect_training_step_allocates_nothing(50, 32, 32, 128);
  for (CellKind cell : {CellKind::kLstm, CellKind::kGru}) {
    expect_training_step_allocates_nothing(12, 3, 4, 16,
                                           {1, 1, 1, Nonlinearity::kTanh, cell, 2, true, 0.2});
  }
}

TEST(Training, AProductAllocatesNothingWhenItsSplitChanges) {
  // Whether a product splits, and how, depends on timing: a small weight gradient (A^T) runs
  // on one thread while the workers sleep, and split while they still spin from a job
  // (workers_awake): 256 x 64 from 800 rows in two halves of k, one a thread
  // (sums_depth_halves), and 256 x 64 from 120 rows, too few to halve, by rows. Its first
  // call, split or not, makes room for every split, so that no later call allocates.
  const int threads_before = threads();
  set_threads(2);
  for (const int k : {800, 120}) {
    const int m = 256, n = 64;
    ASSERT_EQ(sums_depth_halves<float>(m, n, k), k == 800);
    std::vector<float> a(static_cast<std::size_t>(k) * m, 0.5f), b(static_cast<std::size_t>(k) * n),
        c(static_cast<std::size_t>(m) * n);
    int noop = 0;
    auto wake = [&](int part) { noop += part == 0; };
    auto product = [&] {
      gemm_blocked(Trans::kYes, Trans::kNo, m, n, k, 1.0f, a.data(), m, b.data(), n, 0.0f, c.data(),
                   n);
    };
    parallel_for_parts(2, wake);  // the pool's worker started (that allocates), then asleep
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_FALSE(workers_awake());
    product();  // the first call, on one thread
    const long before = allocations.load();
    for (int repeat = 0; repeat < 3; ++repeat) {
      parallel_for_parts(2, wake);
      product();  // split, if the workers were still awake
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      product();  // one thread again
    }
    EXPECT_EQ(allocations.load(), before) << "k=" << k;
  }
  set_threads(threads_before);
}

TEST(Step, ChecksShapes) {
  Network<double> net({2, 3, 1});
  std::vector<double> x(2), state(3), y(1), wrong(2);
  EXPECT_NO_THROW(net.step(x, state, y, 1));
  EXPECT_ANY_THROW(net.step(x, wrong, y, 1));
  EXPECT_ANY_THROW(net.step(x, state, wrong, 1));
}

// An LSTM of 64 units has 256 gate values a row: 2^23 rows of them are 2^31 values, one past
// the products' int index range. step refuses that batch before it reads its arguments, and
// the batch one smaller reaches the shape checks.
TEST(Step, RefusesABatchPastTheIndexRange) {
  NetworkConfig config{2, 64, 1};
  config.cell = CellKind::kLstm;
  Network<float> net(config);
  const std::vector<float> none;
  std::vector<float> out;
  const auto message = [&](int batch) {
    try {
      net.step(none, out, out, batch);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(1 << 23).find("more than 2147483647 values"), std::string::npos);
  EXPECT_NE(message((1 << 23) - 1).find("step: expected x_t"), std::string::npos);
}

}  // namespace
}  // namespace recur
