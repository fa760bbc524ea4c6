// Prediction from several threads at once with one shared, read-only model: each thread
// copies the network (its workspace is its own; the copy only reads the shared one) and
// predicts, while the others do the same and the product pool serves them all. Every thread
// must get exactly what one thread alone gets. And the pool itself: every part of every job
// runs once. The suite runs under AddressSanitizer and ThreadSanitizer too.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <span>
#include <thread>
#include <vector>

#include "recur/model_file.hpp"
#include "recur/network.hpp"
#include "recur/random.hpp"
#include "recur/threads.hpp"
#include "thread_pool.hpp"

namespace recur {
namespace {

struct Request {
  std::vector<float> x;
  std::vector<int> lengths;
};

// Large enough that the recurrent products are split across the pool's threads.
constexpr int kT = 4, kB = 48, kI = 16, kH = 256, kO = 3;

std::vector<float> predict(Network<float>& network, const Request& r) {
  const auto y = network.forward(r.x, kT, kB, r.lengths);
  return {y.begin(), y.end()};
}

TEST(Concurrency, ThreadsSharingOneModelGetWhatOneThreadGets) {
  NumpyRandom random(31);
  Network<float> model({kI, kH, kO, Nonlinearity::kTanh, CellKind::kLstm, 2});
  for (float& p : model.parameters()) p = static_cast<float>(0.1 * random.randn());
  std::vector<Request> requests(6);
  for (Request& r : requests) {
    r.x.resize(static_cast<std::size_t>(kT) * kB * kI);
    for (float& v : r.x) v = static_cast<float>(random.randn());
    for (int b = 0; b < kB; ++b) r.lengths.push_back(1 + b % kT);
  }
  const int threads_before = threads();
  set_threads(2);
  std::vector<std::vector<float>> expected;
  {
    Network<float> alone(model);
    for (const Request& r : requests) expected.push_back(predict(alone, r));
  }
  const Network<float>& shared = model;
  // The model also as a file's contents, shared the same way (what `recur predict` holds).
  const ModelFile file =
      parse_model(model_safetensors(model, {{"loss", "mse"}}), "shared.safetensors");
  constexpr int kThreads = 4;
  std::vector<std::vector<std::vector<float>>> got(kThreads);
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      Network<float> mine(shared);
      Network<float> from_file(file.config);
      load_parameters(file, from_file);
      for (int repeat = 0; repeat < 2; ++repeat) {
        for (std::size_t i = 0; i < requests.size(); ++i) {
          const std::size_t k = (i + t) % requests.size();  // threads in different orders
          Network<float>& net = (repeat + t) % 2 ? mine : from_file;
          got[t].push_back(predict(net, requests[k]));
          got[t].push_back(expected[k]);  // paired with what it must equal
        }
      }
    });
  }
  for (std::thread& t : callers) t.join();
  set_threads(threads_before);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), 2 * 2 * requests.size());
    for (std::size_t i = 0; i < got[t].size(); i += 2) {
      EXPECT_EQ(got[t][i], got[t][i + 1]) << "thread " << t << ", prediction " << i / 2;
    }
  }
}

// Streaming from several threads at once, each its own copy of one GRU (H = 256, whose step
// products split, each layer's cut learned from its parts' times: LayerBuffers::step_shares):
// every thread's outputs and states are one thread's, bit for bit.
TEST(Concurrency, ThreadsStreamingCopiesGetWhatOneThreadGets) {
  constexpr int kSteps = 40;
  NumpyRandom random(32);
  Network<float> model({kI, kH, kO, Nonlinearity::kTanh, CellKind::kGru, 2});
  for (float& p : model.parameters()) p = static_cast<float>(0.1 * random.randn());
  std::vector<float> xs(static_cast<std::size_t>(kSteps) * kI);
  for (float& v : xs) v = static_cast<float>(random.randn());
  const auto stream = [&](Network<float>& net) {
    std::vector<float> state(net.state_size(1), 0.0f), y(kO), all;
    for (int t = 0; t < kSteps; ++t) {
      net.step(std::span<const float>(xs).subspan(static_cast<std::size_t>(t) * kI, kI), state, y,
               1);
      all.insert(all.end(), y.begin(), y.end());
      all.insert(all.end(), state.begin(), state.end());
    }
    return all;
  };
  const int threads_before = threads();
  set_threads(1);
  Network<float> alone(model);
  const std::vector<float> expected = stream(alone);
  set_threads(2);
  constexpr int kThreads = 3;
  std::vector<std::vector<float>> got(kThreads);
  std::vector<std::thread> callers;
  const Network<float>& shared = model;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      Network<float> mine(shared);
      got[t] = stream(mine);
    });
  }
  for (std::thread& t : callers) t.join();
  set_threads(threads_before);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t], expected) << "thread " << t;
}

// thread_pool.cpp: each part of each job runs once, on any number of threads, whatever the
// workers were doing when it was posted: spinning from the last job, asleep, near the end of
// their spin (about 0.4 ms), or still reading the last job, one with fewer parts than the
// pool has threads, which left them out and lets the caller post the next at once. Jobs of
// two kinds alternate, each its own function and context, so that a worker that took one
// job's function with another's context or parts would be seen.
TEST(Concurrency, ThePoolRunsEachPartOfEachJobOnce) {
  const int threads_before = threads();
  long wrong = 0;
  for (int count : {2, 3, 5}) {
    set_threads(count);
    for (int job = 0; job < 3000; ++job) {
      const int parts = 1 + job % count;
      std::array<int, 8> ran{};
      std::array<long, 8> tagged{};
      if (job % 2 == 0) {
        auto part = [&](int p) { ++ran[p]; };
        parallel_for_parts(parts, part);
      } else {
        const long tag = job;
        auto part = [&tagged, tag](int p) { tagged[p] += tag; };
        parallel_for_parts(parts, part);
        for (int p = 0; p < 8; ++p) ran[p] = static_cast<int>(tagged[p] / tag);
      }
      for (int p = 0; p < 8; ++p) wrong += ran[p] != (p < parts ? 1 : 0);
      if (job % 500 == 499) std::this_thread::sleep_for(std::chrono::milliseconds(3));
      if (job % 100 == 57) std::this_thread::sleep_for(std::chrono::microseconds(300 + job % 400));
    }
  }
  set_threads(threads_before);
  EXPECT_EQ(wrong, 0) << "parts run other than once, or run where a job had no such part";
}

}  // namespace
}  // namespace recur
