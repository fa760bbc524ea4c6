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
  check_memory(s);
  return s;
}

void SeedFlags::check_memory(const SeedSettings& s) {
  const NetworkConfig config{s.input_size, s.hidden_size, s.input_size};
  const double data_bytes =
      2.0 * s.steps * s.batch_size * s.input_size * sizeof(double);  // x and y
  std::string sizes = "--steps " + std::to_string(s.steps);
  if (s.batch_size > 1) sizes += " --batch " + std::to_string(s.batch_size);
  sizes += " --input-size " + std::to_string(s.input_size) + " --hidden " +
           std::to_string(s.hidden_size);
  check_fits_in_memory(data_bytes + Network<double>::memory_bytes(config, s.steps, s.batch_size),
                       sizes);
}

}  // namespace recur::cli
