// Caps on what an input file can make recur allocate. Every reader checks its cap before it
// allocates beyond it, and refuses with an Error naming the file, the cap and its name here
// (the program's flags --max-file-size, --max-line-length and --max-vocabulary, and Python's
// recur.set_limits, use the same names).
#pragma once

#include <cstddef>
#include <cstdint>

namespace recur {

struct Limits {
  // Any one file recur reads whole: data, text, model, checkpoint.
  std::uint64_t max_file_size = std::uint64_t{2} << 30;  // 2 GiB
  // One line of a CSV file, which is read a line at a time.
  std::uint64_t max_line_length = std::uint64_t{16} << 20;  // 16 MiB
  // Distinct characters of a character model (the width of its one-hot input and softmax).
  std::size_t max_vocabulary = std::size_t{1} << 16;
};

// The process's limits, read by every reader; safe to set from any thread (a reader already
// under way keeps the limits it started with).
Limits limits();
void set_limits(const Limits& limits);

}  // namespace recur
