// A model file's metadata as `recur predict`, `recur generate` and `recur train --resume`
// read it: the fuzzer's bytes are key \0 value \0 pairs.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "model_metadata.hpp"
#include "recur/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::map<std::string, std::string> metadata;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const std::size_t key_end = rest.find('\0');
    const std::string key(rest.substr(0, key_end));
    rest = key_end == std::string_view::npos ? "" : rest.substr(key_end + 1);
    const std::size_t value_end = rest.find('\0');
    metadata[key] = std::string(rest.substr(0, value_end));
    rest = value_end == std::string_view::npos ? "" : rest.substr(value_end + 1);
  }
  try {
    recur::cli::data_metadata(metadata, "fuzz.safetensors");
  } catch (const recur::Error&) {
  }
  if (const auto position = metadata.find("epoch_position"); position != metadata.end()) {
    try {
      recur::cli::parse_position(position->second, "fuzz.safetensors");
    } catch (const recur::Error&) {
    }
  }
  return 0;
}
