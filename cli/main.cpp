// recur: train and run recurrent networks with backpropagation through time.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <new>
#include <string>

#include "commands.hpp"
#include "flags.hpp"
#include "recur/error.hpp"
#include "recur/limits.hpp"
#include "recur/threads.hpp"

namespace {

int error(const std::string& message, int status) {
  std::fprintf(stderr, "recur: error: %s\n", message.c_str());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace recur::cli;
  CLI::App app("recur: recurrent neural networks trained with backpropagation through time",
               "recur");
  app.require_subcommand(1);
  // For any command: limits on what input files may make recur allocate (recur/limits.hpp),
  // and the threads.
  std::string max_file_size, max_line_length, max_vocabulary, threads;
  const recur::Limits defaults;
  app.add_option("--max-file-size", max_file_size,
                 "refuse input files larger than this (bytes, or with K, M, G; default " +
                     std::to_string(defaults.max_file_size >> 30) + "G)");
  app.add_option("--max-line-length", max_line_length,
                 "refuse CSV lines longer than this (default " +
                     std::to_string(defaults.max_line_length >> 20) + "M)");
  app.add_option("--max-vocabulary", max_vocabulary,
                 "refuse character vocabularies larger than this (default " +
                     std::to_string(defaults.max_vocabulary) + ")");
  app.add_option("--threads", threads,
                 "threads for the matrix products and time loops (default: the machine's "
                 "cores); results do not depend on it");
  app.fallthrough();  // these may follow the command's name, as its own flags do
  const std::map<std::string, Command> commands = {
      {"demo", add_demo(app)},         {"train", add_train(app)}, {"predict", add_predict(app)},
      {"generate", add_generate(app)}, {"info", add_info(app)},   {"gradcheck", add_gradcheck(app)},
      {"bench", add_bench(app)}};
  std::string names;
  for (const CLI::App* command : app.get_subcommands({})) {
    names += (names.empty() ? "" : ", ") + command->get_name();
  }
  if (argc < 2) return error("no command given; expected one of: " + names, 2);
  const std::string first = argv[1];
  if (!first.starts_with("-") &&
      (", " + names + ", ").find(", " + first + ", ") == std::string::npos) {
    return error("unknown command '" + first + "'; expected one of: " + names, 2);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return error(e.what(), 2);
  }
  try {
    recur::Limits limits;
    if (!max_file_size.empty()) limits.max_file_size = parse_size("--max-file-size", max_file_size);
    if (!max_line_length.empty()) {
      limits.max_line_length = parse_size("--max-line-length", max_line_length);
    }
    if (!max_vocabulary.empty()) {
      limits.max_vocabulary =
          static_cast<std::size_t>(parse_positive_int("--max-vocabulary", max_vocabulary));
    }
    recur::set_limits(limits);
    if (!threads.empty()) recur::set_threads(parse_positive_int("--threads", threads));
    for (const auto& [name, command] : commands) {
      if (app.got_subcommand(name)) return command();
    }
    return error("no command given", 2);
  } catch (const UsageError& e) {
    return error(e.what(), 2);
  } catch (const recur::Error& e) {
    return error(e.what(), 1);
  } catch (const std::bad_alloc&) {
    return error("out of memory", 1);
  } catch (const std::exception& e) {
    return error(e.what(), 1);
  }
}
