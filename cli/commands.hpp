// The subcommands of `recur`. Each registers itself and its flags on the main app and returns
// the function that runs it once the command line has been parsed; that function returns the
// exit status and throws UsageError (status 2) or recur::Error (status 1).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace recur::cli {

using Command = std::function<int()>;

Command add_demo(CLI::App& app);
Command add_gradcheck(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_train(CLI::App& app);
Command add_predict(CLI::App& app);
Command add_info(CLI::App& app);
Command add_generate(CLI::App& app);

}  // namespace recur::cli
