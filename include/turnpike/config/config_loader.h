// JSON config file + environment overrides -> Config, with every problem reported at once, each
// naming its key ("listeners[2].port: 70000 is out of range 1-65535").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "turnpike/config/config.h"
#include "turnpike/util/result.h"

namespace turnpike::config {

struct ConfigErrors {
  std::vector<std::string> messages;  // one line each, starting with the key path
};

// Parses JSON text. Unknown keys are errors (they are usually typos).
Result<Config, ConfigErrors> parse_config(std::string_view json_text);

// Reads the file and parses it; a missing/unreadable file is one error naming the path.
Result<Config, ConfigErrors> load_config_file(const std::string& path);

// Environment overrides, applied after the file (so secrets need not be in it):
//   TURNPIKE_REST_SECRETS  comma-separated list, replaces auth.rest_secrets
//   TURNPIKE_REALM         replaces auth.realm
// Unset or empty variables change nothing. `getenv` is injectable for tests; nullptr means
// std::getenv.
using GetEnv = const char* (*)(const char*);
void apply_env_overrides(Config& config, GetEnv getenv_fn);

// Cross-field checks that need the whole config (port_min <= port_max, at least one listener,
// at least one credential source, relay address concrete). Appends to errors.
void validate(const Config& config, ConfigErrors& errors);

}  // namespace turnpike::config
