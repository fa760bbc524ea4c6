#include "recur/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "recur/error.hpp"

namespace recur {

ScheduleSettings::Kind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleSettings::Kind::kConstant;
  if (name == "step") return ScheduleSettings::Kind::kStep;
  if (name == "cosine") return ScheduleSettings::Kind::kCosine;
  throw Error("schedule: expected constant, step or cosine, got '" + name + "'");
}

double scheduled_learning_rate(const ScheduleSettings& s, double base_lr, int epoch, int epochs) {
  double lr = base_lr;
  switch (s.kind) {
    case ScheduleSettings::Kind::kConstant:
      break;
    case ScheduleSettings::Kind::kStep:
      lr = base_lr * std::pow(s.gamma, epoch / std::max(s.step_size, 1));
      break;
    case ScheduleSettings::Kind::kCosine:
      lr = s.min_lr + (base_lr - s.min_lr) *
                          (1 + std::cos(std::numbers::pi * epoch / std::max(epochs, 1))) / 2;
      break;
  }
  if (s.warmup > 0 && epoch < s.warmup) lr *= static_cast<double>(epoch + 1) / s.warmup;
  return lr;
}

}  // namespace recur
