#include "recur/gradcheck.hpp"

#include <algorithm>
#include <cmath>

#include "recur/error.hpp"
#include "recur/loss.hpp"

namespace recur {

std::vector<double> numeric_gradients(Network<double>& network, std::span<const double> x,
                                      std::span<const double> target, int seq_len,
                                      int batch_size, double eps) {
  if (!(eps > 0.0) || !std::isfinite(eps)) throw Error("gradcheck: eps must be finite and > 0");
  std::vector<double> dy(target.size());
  auto loss = [&] {
    return sse_loss<double>(network.forward(x, seq_len, batch_size), target, dy);
  };
  std::span<double> params = network.parameters();
  std::vector<double> numeric(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const double saved = params[i];
    params[i] = saved + eps;
    const double plus = loss();
    params[i] = saved - eps;
    const double minus = loss();
    params[i] = saved;
    numeric[i] = (plus - minus) / (2.0 * eps);
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
