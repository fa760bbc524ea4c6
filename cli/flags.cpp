#include "flags.hpp"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

#include "recur/safetensors.hpp"

namespace recur::cli {

namespace {

[[noreturn]] void fail(const std::string& flag, const std::string& expected,
                       const std::string& text) {
  throw UsageError(flag + ": expected " + expected + ", got '" + text + "'");
}

// The whole text as an integer; false if it is not one or does not fit in long long.
bool to_integer(const std::string& text, long long& value, bool& overflow) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (first != last && *first == '+' && last - first > 1 && first[1] != '-') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  overflow = ec == std::errc::result_out_of_range;
  return ec == std::errc() && ptr == last && first != last;
}

bool to_double(const std::string& text, double& value) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (first != last && *first == '+' && last - first > 1 && first[1] != '-') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  return ec == std::errc() && ptr == last && first != last;
}

}  // namespace

std::uint64_t parse_size(const std::string& flag, const std::string& text) {
  const std::string expected = "a positive size in bytes, optionally with K, M or G";
  std::string digits = text;
  int shift = 0;
  if (!digits.empty()) {
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(digits.back())));
    shift = unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 0;
    if (shift > 0) digits.pop_back();
  }
  long long value = 0;
  bool overflow = false;
  if (!to_integer(digits, value, overflow) || value <= 0 ||
      static_cast<std::uint64_t>(value) > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    fail(flag, expected, text);
  }
  return static_cast<std::uint64_t>(value) << shift;
}

int parse_positive_int(const std::string& flag, const std::string& text) {
  constexpr long long kMax = std::numeric_limits<int>::max();
  const std::string expected = "a positive integer no larger than " + std::to_string(kMax);
  long long value = 0;
  bool overflow = false;
  if (!to_integer(text, value, overflow) && !overflow) fail(flag, expected, text);
  if (overflow || value <= 0 || value > kMax) fail(flag, expected, text);
  return static_cast<int>(value);
}

int parse_count(const std::string& flag, const std::string& text) {
  constexpr long long kMax = std::numeric_limits<int>::max();
  long long value = 0;
  bool overflow = false;
  if (!to_integer(text, value, overflow) || value < 0 || value > kMax) {
    fail(flag, "an integer from 0 to " + std::to_string(kMax), text);
  }
  return static_cast<int>(value);
}

std::uint32_t parse_seed(const std::string& flag, const std::string& text) {
  constexpr long long kMax = std::numeric_limits<std::uint32_t>::max();
  const std::string expected = "an integer from 0 to " + std::to_string(kMax);
  long long value = 0;
  bool overflow = false;
  if (!to_integer(text, value, overflow) || value < 0 || value > kMax) {
    fail(flag, expected, text);
  }
  return static_cast<std::uint32_t>(value);
}

double parse_finite(const std::string& flag, const std::string& text) {
  double value = 0.0;
  if (!to_double(text, value) || !std::isfinite(value)) fail(flag, "a finite number", text);
  return value;
}

double parse_positive_finite(const std::string& flag, const std::string& text) {
  double value = 0.0;
  if (!to_double(text, value) || !std::isfinite(value) || value <= 0.0) {
    fail(flag, "a finite number greater than 0", text);
  }
  return value;
}

double parse_fraction(const std::string& flag, const std::string& text) {
  double value = 0.0;
  if (!to_double(text, value) || !(value >= 0.0 && value < 1.0)) {
    fail(flag, "a fraction from 0 up to (not including) 1", text);
  }
  return value;
}

std::vector<std::string> parse_names(const std::string& flag, const std::string& text,
                                     const std::string& noun) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    const std::size_t first = name.find_first_not_of(' ');
    name = first == std::string::npos ? ""
                                      : name.substr(first, name.find_last_not_of(' ') - first + 1);
    if (name.empty()) fail(flag, "comma-separated " + noun + " names", text);
    for (const std::string& seen : names) {
      if (seen == name) fail(flag, "each " + noun + " once", text);
    }
    names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

std::string parse_choice(const std::string& flag, const std::string& text,
                         const std::vector<std::string>& choices) {
  std::string expected;
  for (const std::string& c : choices) {
    if (c == text) return text;
    expected += (expected.empty() ? "" : " or ") + c;
  }
  fail(flag, expected, text);
}

void check_fits_in_memory(double bytes, const std::string& what) {
  const double have = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  if (have > 0 && bytes > 0.5 * have) {
    char memory[120];
    std::snprintf(memory, sizeof memory,
                  " would need %.1f GB of memory, more than half of this machine's %.1f GB",
                  bytes / 1e9, have / 1e9);
    throw UsageError(what + memory);
  }
}

void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    write_file_atomic(path, {reinterpret_cast<const unsigned char*>(text.data()), text.size()});
  }
}

}  // namespace recur::cli
