#include "recur/checkpoint.hpp"

#include <charconv>
#include <type_traits>

#include "recur/error.hpp"
#include "recur/model_file.hpp"

namespace recur {

template <typename T>
void add_optimizer_state(const Optimizer<T>& optimizer, Safetensors& file) {
  const auto store = [&](const std::string& name, std::span<const T> values) {
    if (values.empty()) return;
    const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(values.size())};
    if constexpr (std::is_same_v<T, float>) {
      file.tensors[name] = StoredTensor::from_floats(values, shape);
    } else {
      file.tensors[name] = StoredTensor::from_doubles(values, shape);
    }
  };
  store(std::string(kOptimizerPrefix) + "first", optimizer.first_state());
  store(std::string(kOptimizerPrefix) + "second", optimizer.second_state());
  file.metadata["optimizer_steps"] = std::to_string(optimizer.steps_taken());
}

template <typename T>
void restore_optimizer_state(const Safetensors& file, const std::string& path,
                             Optimizer<T>& optimizer) {
  const auto values = [&](const std::string& name) {
    const auto it = file.tensors.find(std::string(kOptimizerPrefix) + name);
    const std::vector<double> doubles =
        it == file.tensors.end() ? std::vector<double>() : it->second.to_doubles();
    return std::vector<T>(doubles.begin(), doubles.end());
  };
  const auto steps = file.metadata.find("optimizer_steps");
  long long count = 0;
  if (steps != file.metadata.end()) {
    const auto [end, ec] =
        std::from_chars(steps->second.data(), steps->second.data() + steps->second.size(), count);
    if (ec != std::errc() || end != steps->second.data() + steps->second.size() || count < 0) {
      throw Error(path + ": metadata optimizer_steps is \"" + steps->second +
                  "\", expected a count");
    }
  }
  try {
    optimizer.restore(count, values("first"), values("second"));
  } catch (const Error&) {
    throw Error(path + ": the optimizer state does not fit --optimizer " +
                optimizer_name(optimizer.settings().kind) + " and this model");
  }
}

#define RECUR_INSTANTIATE(T)                                               \
  template void add_optimizer_state<T>(const Optimizer<T>&, Safetensors&); \
  template void restore_optimizer_state<T>(const Safetensors&, const std::string&, Optimizer<T>&);
RECUR_INSTANTIATE(float)
RECUR_INSTANTIATE(double)
#undef RECUR_INSTANTIATE

}  // namespace recur
