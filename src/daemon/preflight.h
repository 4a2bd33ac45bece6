// Checks of a valid config against this machine, run by --check-config and before start-up: the
// TLS certificate and key load and match, `user` and `group` exist. Errors name the key. Also
// warnings for what works but surprises clients (Firefox and turns: to an IP literal).
#pragma once

#include <string>
#include <vector>

#include "turnpike/config/config.h"

namespace turnpike::daemon {

struct Preflight {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

Preflight preflight(const config::Config& config);

}  // namespace turnpike::daemon
