#include "recur/limits.hpp"

#include <mutex>

namespace recur {

namespace {
std::mutex guard;
Limits current;
}  // namespace

Limits limits() {
  const std::lock_guard<std::mutex> lock(guard);
  return current;
}

void set_limits(const Limits& limits) {
  const std::lock_guard<std::mutex> lock(guard);
  current = limits;
}

}  // namespace recur
