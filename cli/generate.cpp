// recur generate: sample text from a character model, streaming one step at a time.
#include <cmath>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "flags.hpp"
#include "model_metadata.hpp"
#include "recur/error.hpp"
#include "recur/model_file.hpp"
#include "recur/random.hpp"
#include "recur/safetensors.hpp"
#include "recur/text.hpp"

namespace recur::cli {

namespace {

struct GenerateOptions {
  std::string model, prime, length = "200", temperature = "1", seed = "0", output;
};

// A class drawn from softmax(logits / temperature) by inverting its distribution at one
// uniform draw; temperature 0 takes the most likely class (the first of equals).
template <typename T>
int sample(std::span<const T> logits, double temperature, NumpyRandom& random,
           std::vector<double>& weights) {
  int best = 0;
  for (int k = 1; k < static_cast<int>(logits.size()); ++k) {
    if (logits[k] > logits[best]) best = k;
  }
  if (temperature == 0) return best;
  double total = 0;
  for (std::size_t k = 0; k < logits.size(); ++k) {
    weights[k] = std::exp((static_cast<double>(logits[k]) - logits[best]) / temperature);
    total += weights[k];
  }
  double u = random.random_sample() * total;
  for (std::size_t k = 0; k < logits.size(); ++k) {
    if (u < weights[k]) return static_cast<int>(k);
    u -= weights[k];
  }
  return best;  // rounding left u past the end
}

template <typename T>
int generate(const GenerateOptions& o, const ModelFile& model, const Vocabulary& vocabulary) {
  const int length = o.length == "0" ? 0 : parse_positive_int("--length", o.length);
  const double temperature = parse_finite("--temperature", o.temperature);
  if (temperature < 0) throw UsageError("--temperature: expected 0 (greedy) or more");
  NumpyRandom random(parse_seed("--seed", o.seed));
  const std::u32string prime = decode_utf8(
      {reinterpret_cast<const unsigned char*>(o.prime.data()), o.prime.size()}, "--prime");
  if (prime.empty()) throw UsageError("--prime: expected at least one character to start from");
  std::vector<int> classes;
  for (char32_t c : prime) {
    const int k = vocabulary.find(c);
    if (k < 0) {
      throw UsageError("--prime: " + describe_character(c) + " is not in " + o.model +
                       "'s vocabulary of " + std::to_string(vocabulary.size()) + " characters");
    }
    classes.push_back(k);
  }
  Network<T> network(model.config);
  load_parameters(model, network);
  const int V = vocabulary.size();
  std::vector<T> state(network.state_size(1), T(0)), x(V, T(0)), y(V);
  std::vector<double> weights(V);
  const auto feed = [&](int k) {
    std::fill(x.begin(), x.end(), T(0));
    x[k] = T(1);
    network.step(x, state, y, 1);
  };
  for (int k : classes) feed(k);
  std::u32string text = prime;
  for (int i = 0; i < length; ++i) {
    const int k = sample<T>(y, temperature, random, weights);
    text.push_back(vocabulary.symbol(k));
    feed(k);
  }
  const std::string out = encode_utf8(text) + "\n";
  write_output(o.output, out);
  return 0;
}

}  // namespace

Command add_generate(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Sample text from a character model");
  cmd->add_option("--model", o->model, "model file written by recur train --text");
  cmd->add_option("--prime", o->prime, "text to start from (each character in the vocabulary)");
  cmd->add_option("--length", o->length, "characters to generate after the prime")
      ->capture_default_str();
  cmd->add_option("--temperature", o->temperature,
                  "softmax temperature: below 1 more conservative, 0 the most likely character")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_option("--output", o->output, "file to write (default: standard output)");
  return [o] {
    if (o->model.empty()) throw UsageError("--model: expected a model file");
    const ModelFile model = read_model(o->model);
    const DataMetadata meta = data_metadata(model.metadata, o->model);
    if (meta.vocabulary.empty()) {
      throw UsageError("--model: " + o->model +
                       " is not a character model (trained with --text); use recur predict");
    }
    const Vocabulary vocabulary = Vocabulary::from_symbols(meta.vocabulary, o->model);
    if (vocabulary.size() != model.config.input_size ||
        vocabulary.size() != model.config.output_size) {
      throw Error(o->model + ": its vocabulary of " + std::to_string(vocabulary.size()) +
                  " does not match its sizes");
    }
    if (model.config.bidirectional) {
      throw Error(o->model + ": a bidirectional model cannot generate text one step at a time");
    }
    return model.dtype == "float32" ? generate<float>(*o, model, vocabulary)
                                    : generate<double>(*o, model, vocabulary);
  };
}

}  // namespace recur::cli
