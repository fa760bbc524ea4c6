#include "recur/text.hpp"

#include <algorithm>
#include <cstdio>

#include "recur/error.hpp"
#include "recur/limits.hpp"

namespace recur {

std::u32string decode_utf8(std::span<const unsigned char> bytes, const std::string& source) {
  std::u32string out;
  out.reserve(bytes.size());
  long line = 1, column = 1;
  std::size_t i = 0;
  const auto fail = [&](const char* what) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", bytes[i]);
    return Error(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": byte " +
                 byte + " " + what + "; expected UTF-8 text");
  };
  while (i < bytes.size()) {
    const unsigned char lead = bytes[i];
    int extra = 0;
    char32_t c = 0, minimum = 0;
    if (lead < 0x80) {
      c = lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1, c = lead & 0x1F, minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2, c = lead & 0x0F, minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3, c = lead & 0x07, minimum = 0x10000;
    } else {
      throw fail("cannot start a character");
    }
    if (bytes.size() - i <= static_cast<std::size_t>(extra) && extra > 0) {
      throw fail("starts a character that the file cuts short");
    }
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = bytes[i + k];
      if ((next & 0xC0) != 0x80) throw fail("starts a character that is not completed");
      c = (c << 6) | (next & 0x3F);
    }
    if (c < minimum) throw fail("starts an overlong encoding");
    if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) {
      throw fail("encodes a surrogate or a value past U+10FFFF");
    }
    out.push_back(c);
    i += extra + 1;
    if (c == U'\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string describe_character(char32_t c) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) return code;
  return std::string(code) + " '" + encode_utf8(std::u32string_view(&c, 1)) + "'";
}

Vocabulary Vocabulary::of(const std::u32string& text, const std::string& source) {
  std::vector<std::uint32_t> symbols(text.begin(), text.end());
  std::sort(symbols.begin(), symbols.end());
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  if (const std::size_t cap = limits().max_vocabulary; symbols.size() > cap) {
    throw Error(source + ": " + std::to_string(symbols.size()) +
                " distinct characters, more than the max-vocabulary limit of " +
                std::to_string(cap));
  }
  if (symbols.size() < 2) {
    throw Error(source + ": " + std::to_string(symbols.size()) +
                " distinct character(s); a character model needs at least 2");
  }
  return from_symbols(symbols, source);
}

Vocabulary Vocabulary::from_symbols(const std::vector<std::uint32_t>& symbols,
                                    const std::string& source) {
  if (const std::size_t cap = limits().max_vocabulary; symbols.size() > cap) {
    throw Error(source + ": a vocabulary of " + std::to_string(symbols.size()) +
                " symbols, more than the max-vocabulary limit of " + std::to_string(cap));
  }
  Vocabulary v;
  for (std::uint32_t s : symbols) {
    const auto c = static_cast<char32_t>(s);
    if (s > 0x10FFFF || (s >= 0xD800 && s <= 0xDFFF)) {
      throw Error(source + ": vocabulary symbol " + std::to_string(s) + " is not a character");
    }
    if (!v.index_.emplace(c, static_cast<int>(v.symbols_.size())).second) {
      throw Error(source + ": vocabulary symbol " + describe_character(c) + " appears twice");
    }
    v.symbols_.push_back(c);
  }
  return v;
}

int Vocabulary::find(char32_t c) const {
  const auto it = index_.find(c);
  return it == index_.end() ? -1 : it->second;
}

std::vector<Sequence> text_sequences(const std::u32string& text, const Vocabulary& vocabulary,
                                     int window) {
  if (window <= 0) throw Error("text: the window must be positive");
  std::vector<Sequence> out;
  const std::size_t steps = text.size() < 2 ? 0 : text.size() - 1;  // the last has no target
  for (std::size_t start = 0; start < steps; start += static_cast<std::size_t>(window)) {
    Sequence s;
    s.length = static_cast<int>(std::min<std::size_t>(window, steps - start));
    s.first_line = static_cast<int>(std::min<std::size_t>(start, 2147483647));
    for (int t = 0; t < s.length; ++t) {
      s.input_classes.push_back(vocabulary.find(text[start + t]));
      s.target_classes.push_back(vocabulary.find(text[start + t + 1]));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace recur
