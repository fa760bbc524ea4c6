// Text for character models: UTF-8 decoded into code points (a character is a code point),
// the vocabulary of the distinct characters, and windows of the text as sequences whose
// input at step t is character t and whose target is character t + 1.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "recur/dataset.hpp"

namespace recur {

// Throws Error naming source, line and column (in characters, from 1) of the first byte that
// is not well-formed UTF-8 (overlong forms, surrogates and values past U+10FFFF included).
std::u32string decode_utf8(std::span<const unsigned char> bytes, const std::string& source);
std::string encode_utf8(std::u32string_view text);

// "U+00E9 'é'", or just the code point for a control character: for messages.
std::string describe_character(char32_t c);

class Vocabulary {
 public:
  Vocabulary() = default;
  // The distinct characters of text, in code point order. Throws Error if there are more
  // than limits().max_vocabulary or fewer than 2.
  static Vocabulary of(const std::u32string& text, const std::string& source);
  // From stored symbols (a model file's): each a code point, no repeats, no more than
  // limits().max_vocabulary.
  static Vocabulary from_symbols(const std::vector<std::uint32_t>& symbols,
                                 const std::string& source);

  int size() const { return static_cast<int>(symbols_.size()); }
  char32_t symbol(int index) const { return symbols_[index]; }
  const std::vector<char32_t>& symbols() const { return symbols_; }
  // The class of c, or -1 if c is not in the vocabulary.
  int find(char32_t c) const;

 private:
  std::vector<char32_t> symbols_;
  std::unordered_map<char32_t, int> index_;
};

// Windows of `window` steps, starting every `window` characters; the last window may be
// shorter (at least one step). Inputs and targets are class indices (Sequence's
// input_classes and target_classes); `first_line` holds the window's first character offset.
std::vector<Sequence> text_sequences(const std::u32string& text, const Vocabulary& vocabulary,
                                     int window);

}  // namespace recur
