#pragma once

#include <functional>
#include <optional>

#include "turnpike/config/config.h"

namespace turnpike::daemon {

// Re-reads the configuration for SIGHUP; nullopt when it is invalid (the errors are logged).
using ConfigSource = std::function<std::optional<config::Config>()>;

// Binds the listeners, runs the loop until SIGINT/SIGTERM (SIGHUP reloads what can change without
// dropping allocations), and returns the exit code. Throws std::runtime_error for start-up
// failures (a port that cannot be bound, a certificate that cannot be read).
int run(const config::Config& config, ConfigSource reload_source);

}  // namespace turnpike::daemon
