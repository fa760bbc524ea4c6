// Flag values, parsed and checked with errors that name the flag and what was expected.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace recur::cli {

// Bad usage: the program prints "recur: error: <what>" and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

// Each takes the flag's name (for the message) and its text as given.
int parse_positive_int(const std::string& flag, const std::string& text);
std::uint32_t parse_seed(const std::string& flag, const std::string& text);
double parse_finite(const std::string& flag, const std::string& text);
double parse_positive_finite(const std::string& flag, const std::string& text);
// A number in [0, 1).
double parse_fraction(const std::string& flag, const std::string& text);
// Comma-separated names, each non-empty and given once; errors call them `noun` names.
std::vector<std::string> parse_names(const std::string& flag, const std::string& text,
                                     const std::string& noun = "column");
// An integer from 0 to INT_MAX.
int parse_count(const std::string& flag, const std::string& text);
// One of `choices`.
std::string parse_choice(const std::string& flag, const std::string& text,
                         const std::vector<std::string>& choices);

// A size in bytes: a positive integer, optionally with K, M or G (binary: K = 1024).
std::uint64_t parse_size(const std::string& flag, const std::string& text);

// Throws UsageError "<what> would need N GB of memory, more than half of this machine's M GB"
// where `bytes` is more than half of the machine's memory: sizes refused before anything is
// allocated for them.
void check_fits_in_memory(double bytes, const std::string& what);

// The value of an --output flag: text written atomically to path, or to standard output when
// path is empty or "-".
void write_output(const std::string& path, const std::string& text);

}  // namespace recur::cli
