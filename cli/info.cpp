// recur info: what a model file holds, readable.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "flags.hpp"
#include "recur/model_file.hpp"
#include "recur/safetensors.hpp"

namespace recur::cli {

namespace {

// Metadata comes from the file: control characters are shown escaped, never sent to the
// terminal, and very long values are cut.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
    if (out.size() > 2000) return out + "...";
  }
  return out;
}

}  // namespace

Command add_info(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model file");
  cmd->add_option("model", *path, "model file (safetensors)");
  return [path] {
    if (path->empty()) throw UsageError("info: expected a model file");
    const Safetensors file = read_safetensors(*path);
    const ModelFile model = parse_model(file, *path);
    const NetworkConfig& c = model.config;
    long parameters = 0;
    for (const auto& [name, values] : model.tensors) parameters += static_cast<long>(values.size());
    const std::string cell =
        c.cell == CellKind::kElman
            ? std::string("Elman RNN (") + nonlinearity_name(c.nonlinearity) + ")"
        : c.cell == CellKind::kLstm ? "LSTM"
                                    : "GRU";
    std::printf("%s: %s%s with a linear readout, %s\n", path->c_str(),
                c.bidirectional ? "bidirectional " : "", cell.c_str(), model.dtype.c_str());
    std::printf("  sizes       input %d, hidden %d, output %d, %d layer%s\n", c.input_size,
                c.hidden_size, c.output_size, c.layers, c.layers == 1 ? "" : "s");
    std::printf("  parameters  %ld\n", parameters);
    std::printf("  tensors\n");
    for (const auto& [name, t] : file.tensors) {
      std::string shape;
      for (std::int64_t d : t.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
      std::printf("    %-20s %-4s [%s]\n", printable(name).c_str(), t.dtype.c_str(), shape.c_str());
    }
    if (!model.metadata.empty()) std::printf("  metadata\n");
    for (const auto& [key, value] : model.metadata) {
      std::printf("    %-16s %s\n", printable(key).c_str(), printable(value).c_str());
    }
    return 0;
  };
}

}  // namespace recur::cli
