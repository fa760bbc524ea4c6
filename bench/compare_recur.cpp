// recur's side of bench/compare: one float32 training step (forward over the sequence, MSE
// loss, BPTT, SGD update) of a workload, timed; see step_timing.hpp.
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
  recur::Optimizer<float> sgd({recur::OptimizerKind::kSgd, 1e-3}, net.parameters().size());
  bench::time_steps(w, [&] {
    const auto y = net.forward(x, w.T, w.B);
    recur::masked_loss<float>(recur::LossKind::kMse, y, target, dy, w.T, w.B, {});
    net.backward(dy);
    sgd.step(net.parameters(), net.gradients());
  });
  return 0;
}
