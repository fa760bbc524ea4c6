#include "seed_flags.hpp"

#include "flags.hpp"

namespace recur::cli {

void SeedFlags::add_model_flags(CLI::App& app) {
  app.add_option("--seed", seed, "numpy random seed (np.random.seed)")->capture_default_str();
  app.add_option("--steps", steps, "sequence length T")->capture_default_str();
  app.add_option("--input-size", input_size, "input size I (the output size too: y = scale*x)")
      ->capture_default_str();
  app.add_option("--hidden", hidden, "hidden size H")->capture_default_str();
  app.add_option("--scale", scale, "target y = scale * x")->capture_default_str();
  app.add_option("--init-scale", init_scale, "initial weights = randn * init-scale")
      ->capture_default_str();
}

void SeedFlags::add_training_flags(CLI::App& app) {
  app.add_option("--lr", lr, "SGD learning rate")->capture_default_str();
  app.add_option("--epochs", epochs, "training epochs (one full-BPTT SGD step each)")
      ->capture_default_str();
}

void SeedFlags::add_batch_flag(CLI::App& app) {
  app.add_option("--batch", batch, "sequences per batch B")->capture_default_str();
}

SeedSettings SeedFlags::settings() const {
  SeedSettings s;
  s.seed = parse_seed("--seed", seed);
  s.steps = parse_positive_int("--steps", steps);
  s.input_size = parse_positive_int("--input-size", input_size);
  s.hidden_size = parse_positive_int("--hidden", hidden);
  s.learning_rate = parse_positive_finite("--lr", lr);
  s.epochs = parse_positive_int("--epochs", epochs);
  s.scale = parse_finite("--scale", scale);
  s.init_scale = parse_finite("--init-scale", init_scale);
  s.batch_size = parse_positive_int("--batch", batch);
  return s;
}

}  // namespace recur::cli
