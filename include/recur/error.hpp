// recur::Error: the one exception type the library throws.
#pragma once

#include <stdexcept>
#include <string>

namespace recur {

// Thrown for every failure the caller can do something about: bad sizes, bad files, bad
// values. The message names what was wrong and where, and what was expected. Library code
// never exits or aborts; the program decides what a failure means.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace recur
