// turnpiked: load and check the config, then run the relay until SIGINT/SIGTERM.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "daemon.h"
#include "preflight.h"
#include "turnpike/config/config_loader.h"

namespace {

const char* env(const char* name) { return std::getenv(name); }

int print_errors(const std::vector<std::string>& errors) {
  for (const std::string& e : errors) std::cerr << "turnpiked: config error: " << e << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // A client that closes while we write must cost an EPIPE on that connection, never the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"turnpiked - TURN/STUN relay server (RFC 8489, RFC 8656)", "turnpiked"};
  std::string config_path = "/etc/turnpike/turnpike.json";
  std::string log_level;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "JSON config file (docs/configuration.md)")
      ->capture_default_str();
  app.add_option("--log-level", log_level,
                 "override log.level: trace, debug, info, warn, error, critical, off");
  app.add_flag("--check-config", check_only, "validate the config, print 'config ok', and exit");
  app.set_version_flag("--version", std::string("turnpiked ") + TURNPIKE_VERSION);
  CLI11_PARSE(app, argc, argv);

  auto loaded = turnpike::config::load_config_file(config_path);
  if (!loaded) return print_errors(loaded.error().messages);
  turnpike::config::Config config = std::move(loaded).value();
  turnpike::config::apply_env_overrides(config, env);
  if (!log_level.empty()) config.log.level = log_level;
  turnpike::config::ConfigErrors errors;
  turnpike::config::validate(config, errors);
  if (spdlog::level::from_str(config.log.level) == spdlog::level::off &&
      config.log.level != "off") {
    errors.messages.push_back("log.level: unknown level '" + config.log.level + "'");
  }
  if (!errors.messages.empty()) return print_errors(errors.messages);
  // What only this machine can tell: certificate files, accounts.
  const turnpike::daemon::Preflight checked = turnpike::daemon::preflight(config);
  for (const std::string& w : checked.warnings) std::cerr << "turnpiked: warning: " << w << "\n";
  if (!checked.errors.empty()) return print_errors(checked.errors);
  if (check_only) {
    std::cout << "config ok\n";
    return 0;
  }

  auto logger = spdlog::stderr_color_mt("turnpiked");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log.level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  try {
    const auto reload = [config_path]() -> std::optional<turnpike::config::Config> {
      auto fresh = turnpike::config::load_config_file(config_path);
      turnpike::config::ConfigErrors problems;
      if (fresh) {
        turnpike::config::apply_env_overrides(*fresh, env);
        turnpike::config::validate(*fresh, problems);
      } else {
        problems = fresh.error();
      }
      for (const std::string& e : problems.messages) spdlog::error("config error: {}", e);
      if (!problems.messages.empty()) return std::nullopt;
      return std::move(fresh).value();
    };
    return turnpike::daemon::run(config, reload);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
