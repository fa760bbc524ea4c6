// recur's side of bench/compare: one float32 training step (forward over the sequence, MSE
// loss, BPTT, SGD update) of a workload, or with --stream 1 one streaming inference step
// (Network::step), timed; see step_timing.hpp.
#include <vector>

#include "recur/init.hpp"
#include "recur/loss.hpp"
#include "recur/network.hpp"
#include "recur/optim.hpp"
#include "recur/random.hpp"
#include "recur/threads.hpp"
#include "step_timing.hpp"

int main(int argc, char** argv) {
  const bench::Workload w = bench::parse_workload(argc, argv);
  if (w.threads > 0) recur::set_threads(w.threads);
  recur::NetworkConfig config{w.I, w.H, w.O};
  config.cell = recur::parse_cell(w.cell);
  recur::Network<float> net(config);
  recur::NumpyRandom random(0);
  recur::initialize(net, recur::InitMethod::kPytorch, random);
  std::vector<float> x(static_cast<std::size_t>(w.T) * w.B * w.I);
  std::vector<float> target(static_cast<std::size_t>(w.T) * w.B * w.O), dy(target.size());
  for (float& v : x) v = static_cast<float>(random.randn());
  for (float& v : target) v = static_cast<float>(random.randn());
  if (w.stream) {  // one step of streaming inference: x_t [B, I] and the state in, y_t out
    std::vector<float> state(net.state_size(w.B)), y(static_cast<std::size_t>(w.B) * w.O);
    const std::span<const float> x_t(x.data(), static_cast<std::size_t>(w.B) * w.I);
    bench::time_steps(w, [&] { net.step(x_t, state, y, w.B); });
    return 0;
  }
  recur::Optimizer<float> sgd({recur::OptimizerKind::kSgd, 1e-3}, net.parameters().size());
  bench::time_steps(w, [&] {
    const auto y = net.forward(x, w.T, w.B);
    recur::masked_loss<float>(recur::LossKind::kMse, y, target, dy, w.T, w.B, {});
    net.backward(dy);
    sgd.step(net.parameters(), net.gradients());
  });
  return 0;
}
