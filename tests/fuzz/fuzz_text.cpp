// Text files for character models: UTF-8 decoding, the vocabulary, the windows, and a
// vocabulary read back from stored symbols (a model file's).
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "recur/error.hpp"
#include "recur/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    std::vector<std::uint32_t> symbols(size / 4);
    if (!symbols.empty()) std::memcpy(symbols.data(), data, symbols.size() * 4);
    recur::Vocabulary::from_symbols(symbols, "fuzz symbols");
  } catch (const recur::Error&) {
  }
  try {
    const std::u32string text = recur::decode_utf8({data, size}, "fuzz.txt");
    // Well-formed UTF-8 is decoded without loss: encoding gives back the same bytes.
    const std::string bytes = recur::encode_utf8(text);
    if (bytes.size() != size || std::memcmp(bytes.data(), data, size) != 0) __builtin_trap();
    const recur::Vocabulary vocabulary = recur::Vocabulary::of(text, "fuzz.txt");
    const int window = 1 + (size > 0 ? data[0] % 16 : 0);
    recur::text_sequences(text, vocabulary, window);
  } catch (const recur::Error&) {
  }
  return 0;
}
