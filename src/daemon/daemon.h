#pragma once

#include "turnpike/config/config.h"

namespace turnpike::daemon {

// Binds the listeners, runs the loop until SIGINT/SIGTERM, and returns the exit code.
// Throws std::runtime_error for start-up failures (a port that cannot be bound).
int run(const config::Config& config);

}  // namespace turnpike::daemon
