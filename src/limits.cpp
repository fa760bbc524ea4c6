#include "recur/limits.hpp"

namespace recur {

namespace {
Limits current;
}  // namespace

const Limits& limits() {
  return current;
}

void set_limits(const Limits& limits) {
  current = limits;
}

}  // namespace recur
