// Learning-rate schedules, a function of the epoch alone (so a resumed run follows the same
// curve), matching torch.optim.lr_scheduler stepped once per epoch.
#pragma once

#include <string>

namespace recur {

struct ScheduleSettings {
  enum class Kind { kConstant, kStep, kCosine };
  Kind kind = Kind::kConstant;
  int step_size = 10;   // kStep: StepLR(step_size, gamma)
  double gamma = 0.1;   // kStep
  double min_lr = 0.0;  // kCosine: CosineAnnealingLR(T_max = epochs, eta_min = min_lr)
  int warmup = 0;       // > 0: times (epoch + 1) / warmup for the first warmup epochs,
                        // as LinearLR(1 / warmup, 1, warmup - 1) chained with the above
};

// "constant", "step" or "cosine"; throws Error otherwise.
ScheduleSettings::Kind parse_schedule(const std::string& name);

// The learning rate for epoch (0-based) of a run of `epochs`, from base_lr.
double scheduled_learning_rate(const ScheduleSettings& schedule, double base_lr, int epoch,
                               int epochs);

}  // namespace recur
