#include "recur/gradcheck.hpp"

#include <algorithm>
#include <cmath>

#include "recur/error.hpp"

namespace recur {

std::vector<double> numeric_gradients(const Network<double>& network, std::span<const double> x,
                                      std::span<const double> target, int seq_len, int batch_size,
                                      double eps, const GradcheckInputs& inputs) {
  if (!(eps > 0.0) || !std::isfinite(eps)) throw Error("gradcheck: eps must be finite and > 0");
  using Wide = long double;
  Network<Wide> wide(network.config());
  std::copy(network.parameters().begin(), network.parameters().end(), wide.parameters().begin());
  const std::vector<Wide> wide_x(x.begin(), x.end());
  const std::vector<Wide> wide_target(target.begin(), target.end());
  const std::vector<Wide> wide_state(inputs.state0.begin(), inputs.state0.end());
  std::span<Wide> params = wide.parameters();
  auto loss_at = [&](std::size_t i, Wide value) {
    params[i] = value;
    if (inputs.dropout) {
      wide.set_training(true);
      wide.set_dropout_seed(inputs.dropout_seed);
    }
    const auto y = wide.forward(wide_x, seq_len, batch_size, inputs.lengths, wide_state);
    Wide sum = 0;
    for (std::size_t k = 0; k < y.size(); ++k)
      sum += (y[k] - wide_target[k]) * (y[k] - wide_target[k]);
    return sum / 2;
  };
  std::vector<double> numeric(params.size());
  const Wide h = eps;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Wide saved = params[i];
    const Wide near = loss_at(i, saved + h) - loss_at(i, saved - h);
    const Wide far = loss_at(i, saved + 2 * h) - loss_at(i, saved - 2 * h);
    params[i] = saved;
    numeric[i] = static_cast<double>((8 * near - far) / (12 * h));
  }
  return numeric;
}

std::vector<TensorError> compare_gradients(const std::vector<TensorInfo>& tensors,
                                           std::span<const double> analytic,
                                           std::span<const double> numeric) {
  if (analytic.size() != numeric.size()) {
    throw Error("gradcheck: analytic and numeric gradients differ in size");
  }
  std::vector<TensorError> errors;
  for (const TensorInfo& t : tensors) {
    const auto a = analytic.subspan(t.offset, t.size);
    const auto n = numeric.subspan(t.offset, t.size);
    double scale = 0.0;
    for (double v : n) scale = std::max(scale, std::abs(v));
    const double floor = std::max(1e-3 * scale, 1e-12);
    double worst = 0.0;
    for (std::size_t i = 0; i < t.size; ++i) {
      const double denom = std::max({std::abs(a[i]), std::abs(n[i]), floor});
      const double err = std::abs(a[i] - n[i]) / denom;
      worst = std::isnan(err) ? err : std::max(worst, err);
      if (std::isnan(worst)) break;
    }
    errors.push_back({t.name, worst});
  }
  return errors;
}

}  // namespace recur
