#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace recur::cli {

namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return buffer;
}

}  // namespace

Progress::Progress(int epochs, bool bits_per_step)
    : terminal_(isatty(STDERR_FILENO) != 0),
      bits_(bits_per_step),
      epochs_(epochs),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      last_validation_(NAN) {}

void Progress::step(int epoch, int step, int steps, double loss, double grad_norm) {
  ++total_steps_;
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step < steps && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = total_steps_ / std::max(elapsed, 1e-9);
  const double left =
      static_cast<double>(epochs_ - epoch) * steps + static_cast<double>(steps - step);
  constexpr int kWidth = 20;
  const int filled = steps > 0 ? kWidth * step / steps : kWidth;
  std::string bar(filled, '=');
  bar.append(kWidth - filled, ' ');
  char val[32] = "";
  if (!std::isnan(last_validation_)) std::snprintf(val, sizeof val, " val %.4g", last_validation_);
  std::fprintf(stderr,
               "\r\033[Kepoch %d/%d [%s] step %d/%d loss %.4g%s |g| %.3g %.0f steps/s ETA %s",
               epoch, epochs_, bar.c_str(), step, steps, loss, val, grad_norm, rate,
               clock_text(left / rate).c_str());
  std::fflush(stderr);
}

void Progress::interrupted() {
  if (terminal_) std::fprintf(stderr, "\n");
}

void Progress::epoch_done(int epoch, double loss, double validation_loss, double grad_norm) {
  last_validation_ = validation_loss;
  if (terminal_) std::fprintf(stderr, "\r\033[K");
  const auto bits = [&](double nats) {
    char text[48] = "";
    if (bits_) std::snprintf(text, sizeof text, " (%.4f bits/char)", nats / std::log(2.0));
    return std::string(text);
  };
  if (std::isnan(validation_loss)) {
    std::fprintf(stderr, "epoch %d/%d loss %.6g%s |g| %.4g\n", epoch, epochs_, loss,
                 bits(loss).c_str(), grad_norm);
  } else {
    std::fprintf(stderr, "epoch %d/%d loss %.6g%s validation %.6g%s |g| %.4g\n", epoch, epochs_,
                 loss, bits(loss).c_str(), validation_loss, bits(validation_loss).c_str(),
                 grad_norm);
  }
}

}  // namespace recur::cli
