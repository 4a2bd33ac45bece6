// The turnpike CLI's subcommands. Each add_* registers its CLI11 subcommand and options on `app`
// and returns the function that runs it once the command line has been parsed.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace turnpike::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // the process exit code
};

Command add_stun_command(CLI::App& app);
Command add_creds_command(CLI::App& app);
Command add_peer_command(CLI::App& app);
Command add_load_command(CLI::App& app);

}  // namespace turnpike::cli
