// Private to the config loader: one parse (read_*) and one cross-field check (validate_*) per
// section of the JSON document, each defined in src/config/sections/<section>.cpp.
// config_loader.cpp calls them in document order; the order fixes the order of the error messages.
//
//   listeners.cpp    listeners[] (and the default listeners when the key is absent)
//   relay.cpp        relay.*
//   auth.cpp         auth.* and TURNPIKE_REST_SECRETS, TURNPIKE_REALM
//   allocation.cpp   allocation.*
//   peers.cpp        peers.*
//   limits.cpp       limits.*
//   shutdown.cpp     shutdown.*
//   log.cpp          log.*
//   tls.cpp          tls.* (and listeners[].transport "tls" needing a certificate)
//   credentials.cpp  credentials.* and TURNPIKE_API_KEYS
//   top_level.cpp    workers, user, group, software
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "../json_reader.h"
#include "turnpike/config/config.h"
#include "turnpike/config/config_loader.h"

namespace turnpike::config::detail {

constexpr size_t kMaxTextChars = 127;  // REALM and SOFTWARE: fewer than 128 characters

// Reads the value of one top-level key into config. Errors go to the reader.
using SectionReader = void (*)(Reader& r, const Json& value, const std::string& path,
                               Config& config);
// Cross-field checks of validate(), for configs parsed or built in code.
using SectionValidator = void (*)(const Config& config, Reader& r);

void read_listeners(Reader& r, const Json& value, const std::string& path, Config& config);
// Without a "listeners" key: UDP and TCP on 3478, plus TLS on 5349 and 443 when tls is set.
void apply_default_listeners(const Json& root, Config& config);
void validate_listeners(const Config& config, Reader& r);

void read_relay(Reader& r, const Json& value, const std::string& path, Config& config);
// relay.address is the one required key.
void require_relay_address(const Json& root, Reader& r);
void validate_relay(const Config& config, Reader& r);

void read_auth(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_auth(const Config& config, Reader& r);
void apply_auth_env(AuthConfig& auth, GetEnv getenv_fn);

void read_allocation(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_allocation(const Config& config, Reader& r);

// A list of CIDR strings (each checked: "... is not a CIDR range"), and the check alone.
void read_cidr_list(Reader& r, const Json& value, const std::string& path,
                    std::vector<std::string>& out);
void check_cidr(const std::string& text, std::string_view path, Reader& reader);

void read_peers(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_peers(const Config& config, Reader& r);

void read_limits(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_limits(const Config& config, Reader& r);

void read_shutdown(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_shutdown(const Config& config, Reader& r);

void read_log(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_log(const Config& config, Reader& r);

void read_tls(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_tls(const Config& config, Reader& r);

void read_credentials(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_credentials(const Config& config, Reader& r);
void apply_credentials_env(CredentialsConfig& credentials, GetEnv getenv_fn);

void read_workers(Reader& r, const Json& value, const std::string& path, Config& config);
void read_user(Reader& r, const Json& value, const std::string& path, Config& config);
void read_group(Reader& r, const Json& value, const std::string& path, Config& config);
void read_software(Reader& r, const Json& value, const std::string& path, Config& config);
void validate_top_level(const Config& config, Reader& r);

// Environment values (defined in config_loader.cpp): text without leading and trailing spaces,
// tabs and line breaks; the items of a comma-separated list, each trimmed, empty ones dropped.
std::string_view env_trim(std::string_view text);
std::vector<std::string_view> env_list_items(std::string_view value);

}  // namespace turnpike::config::detail
