#include "part_split.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace recur {

namespace {

constexpr double kMostChange = 1.25;                // a weight's factor in one update, at most
constexpr double kLightest = 0.2, kHeaviest = 5.0;  // a weight's bounds (their mean about 1)

}  // namespace

double PartShares::weight(int parts, int part) const {
  return parts == parts_ && part >= 0 && part < parts ? weight_[part] : 1.0;
}

double PartShares::before(int parts, int part) const {
  double total = 0, sum = 0;
  for (int p = 0; p < parts; ++p) {
    total += weight(parts, p);
    if (p < part) sum += weight(parts, p);
  }
  return total > 0 ? sum / total : 0;
}

void PartShares::update(int parts, const double* seconds) {
  if (parts < 2 || parts > kMostParts) return;
  double mean = 0;
  for (int p = 0; p < parts; ++p) {
    if (!(std::isfinite(seconds[p]) && seconds[p] > 0)) return;  // a part the clock missed
    mean += seconds[p] / parts;
  }
  if (parts != parts_) {
    parts_ = parts;
    weight_.fill(1.0);
  }
  double total = 0;
  for (int p = 0; p < parts; ++p) {
    weight_[p] *= std::clamp(std::sqrt(mean / seconds[p]), 1 / kMostChange, kMostChange);
    total += weight_[p];
  }
  for (int p = 0; p < parts; ++p)
    weight_[p] = std::clamp(weight_[p] * parts / total, kLightest, kHeaviest);
}

PartSplit::PartSplit(PartShares& shares, int parts, int units, int least)
    : shares_(shares),
      parts_(std::max(parts, 1)),
      units_(units),
      timed_(parts_ <= PartShares::kMostParts && static_cast<long>(parts_) * least <= units),
      learns_(timed_) {
  if (!timed_) return;
  bounds_[0] = 0;
  for (int p = 1; p < parts_; ++p) {
    const int ideal = static_cast<int>(std::lround(units * shares.before(parts_, p)));
    bounds_[p] = std::clamp(ideal, bounds_[p - 1] + least, units - (parts_ - p) * least);
    if (bounds_[p] != ideal) learns_ = false;
  }
  bounds_[parts_] = units;
}

int PartSplit::begin(int part) const {
  return timed_ ? bounds_[part] : static_cast<int>(static_cast<long>(units_) * part / parts_);
}

double part_clock() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace recur
