// Model files: the safetensors container, then the model it must hold, then a network built
// from it and its parameters loaded, as `recur predict --model` does.
#include <cstdint>
#include <span>

#include "recur/error.hpp"
#include "recur/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const recur::Safetensors file = recur::parse_safetensors({data, size}, "fuzz.safetensors");
    const recur::ModelFile model = recur::parse_model(file, "fuzz.safetensors");
    recur::Network<float> network(model.config);
    recur::load_parameters(model, network);
  } catch (const recur::Error&) {
  }
  return 0;
}
