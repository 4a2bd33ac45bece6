// auth.*: realm, static_users, rest_secrets, rest_separator, nonce_lifetime, password_algorithms;
// the environment overrides TURNPIKE_REST_SECRETS and TURNPIKE_REALM.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

constexpr uint32_t kMinNonceLifetime = 30;
constexpr uint32_t kMaxNonceLifetime = 86400;
constexpr size_t kMaxUsernameBytes = 512;  // USERNAME: fewer than 513 bytes (RFC 8489 §14.3)

void check_nonce_lifetime(uint32_t seconds, Reader& reader) {
  if (seconds < kMinNonceLifetime || seconds > kMaxNonceLifetime) {
    reader.error("auth.nonce_lifetime", std::to_string(seconds) + " is out of range " +
                                            std::to_string(kMinNonceLifetime) + "-" +
                                            std::to_string(kMaxNonceLifetime));
  }
}

// Secrets are read with Reader::string, whose messages name the type, never the value.
void read_static_users(Reader& r, const Json& value, const std::string& path, AuthConfig& auth) {
  if (!value.is_object()) {
    r.object(value, path, {});  // reports the type
    return;
  }
  for (const auto& [name, password] : value.items()) {
    if (auto text = r.string(password, key_path(path, name))) {
      auth.static_users[name] = Secret(std::move(*text));
    }
  }
}

void read_secret_list(Reader& r, const Json& value, const std::string& path,
                      std::vector<Secret>& out) {
  if (!r.array(value, path)) return;
  for (size_t i = 0; i < value.size(); ++i) {
    if (auto text = r.string(value[i], index_path(path, i))) out.emplace_back(std::move(*text));
  }
}

}  // namespace

void read_auth(Reader& r, const Json& value, const std::string& path, Config& config) {
  AuthConfig& auth = config.auth;
  r.object(
      value, path,
      {{"realm",
        [&](const Json& v, const std::string& p) {
          if (auto realm = r.string(v, p)) auth.realm = std::move(*realm);
        }},
       {"static_users",
        [&](const Json& v, const std::string& p) { read_static_users(r, v, p, auth); }},
       {"rest_secrets",
        [&](const Json& v, const std::string& p) { read_secret_list(r, v, p, auth.rest_secrets); }},
       {"rest_separator",
        [&](const Json& v, const std::string& p) {
          if (auto separator = r.string(v, p)) {
            if (separator->size() == 1) {
              auth.rest_separator = separator->front();
            } else {
              r.error(p, "must be exactly one character");
            }
          }
        }},
       {"nonce_lifetime",
        [&](const Json& v, const std::string& p) {
          r.unsigned_into(v, p, auth.nonce_lifetime_s, kMinNonceLifetime, kMaxNonceLifetime);
        }},
       {"password_algorithms", [&](const Json& v, const std::string& p) {
          if (auto enabled = r.boolean(v, p)) auth.password_algorithms = *enabled;
        }}});
}

void validate_auth(const Config& config, Reader& r) {
  const AuthConfig& auth = config.auth;
  if (auth.realm.empty()) r.error("auth.realm", "must not be empty");
  if (utf8_length(auth.realm) > kMaxTextChars) {
    r.error("auth.realm", "must be fewer than 128 characters");
  }
  for (const auto& [name, password] : auth.static_users) {
    const std::string path = key_path("auth.static_users", name);
    if (name.empty()) r.error(path, "user name must not be empty");
    if (name.size() > kMaxUsernameBytes) r.error(path, "user name must be at most 512 bytes");
    if (password.empty()) r.error(path, "password must not be empty");
  }
  for (size_t i = 0; i < auth.rest_secrets.size(); ++i) {
    if (auth.rest_secrets[i].empty()) {
      r.error(index_path("auth.rest_secrets", i), "must not be empty");
    }
  }
  check_nonce_lifetime(auth.nonce_lifetime_s, r);
  if (auth.static_users.empty() && auth.rest_secrets.empty()) {
    r.error("auth",
            "no credentials configured: set auth.static_users or auth.rest_secrets (or "
            "TURNPIKE_REST_SECRETS)");
  }
}

void apply_auth_env(AuthConfig& auth, GetEnv getenv_fn) {
  // Empty values count as unset, so "TURNPIKE_REST_SECRETS=" cannot silently wipe the file's.
  if (const char* value = getenv_fn("TURNPIKE_REST_SECRETS"); value != nullptr) {
    std::vector<Secret> secrets;
    for (const std::string_view item : env_list_items(value)) {
      secrets.emplace_back(std::string(item));
    }
    if (!secrets.empty()) auth.rest_secrets = std::move(secrets);
  }
  if (const char* value = getenv_fn("TURNPIKE_REALM"); value != nullptr && *value != '\0') {
    auth.realm = value;
  }
}

}  // namespace turnpike::config::detail
