// credentials.* (the HTTP credential endpoint): path, api_keys, anonymous, cors_origins, ttl,
// max_ttl, hosts, extra_urls, rate_limit.*; the environment override TURNPIKE_API_KEYS.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

constexpr uint32_t kMaxCredentialTtl = 7 * 86400;  // credentials.ttl / max_ttl upper bound
constexpr uint32_t kMaxRatePerMinute = 1000000;
constexpr size_t kMaxLabelChars = 64;
constexpr size_t kMinApiKeyChars = 16;
constexpr size_t kMaxHostChars = 253;

// ---- reading ----

void read_string_list(Reader& r, const Json& value, const std::string& path,
                      std::vector<std::string>& out) {
  if (!r.array(value, path)) return;
  std::vector<std::string> items;
  for (size_t i = 0; i < value.size(); ++i) {
    if (auto text = r.string(value[i], index_path(path, i))) items.push_back(std::move(*text));
  }
  out = std::move(items);
}

// Keys are secrets: read with Reader::string (type errors name the type, never the value).
void read_api_keys(Reader& r, const Json& value, const std::string& path,
                   std::vector<ApiKey>& out) {
  if (!r.array(value, path)) return;
  std::vector<ApiKey> keys;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item = index_path(path, i);
    ApiKey key;
    bool has_label = false;
    bool has_key = false;
    r.object(value[i], item,
             {{"label",
               [&](const Json& v, const std::string& p) {
                 has_label = true;
                 if (auto text = r.string(v, p)) key.label = std::move(*text);
               }},
              {"key", [&](const Json& v, const std::string& p) {
                 has_key = true;
                 if (auto text = r.string(v, p)) key.key = Secret(std::move(*text));
               }}});
    if (value[i].is_object() && !has_label) r.error(item + ".label", "required");
    if (value[i].is_object() && !has_key) r.error(item + ".key", "required");
    keys.push_back(std::move(key));
  }
  out = std::move(keys);
}

// ---- validate() helpers ----

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelChars) return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// A DNS name (letters, digits, '-' and '.'), an IP literal, or a bracketed IPv6 literal.
bool is_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto ip = IpAddress::parse(host.substr(1, host.size() - 2));
    return ip && ip->family == Family::kIPv6;
  }
  if (IpAddress::parse(host)) return true;
  if (host.empty() || host.size() > kMaxHostChars || host.front() == '.' || host.front() == '-') {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
  });
}

bool has_space_or_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

// "*" or "scheme://host[:port]" (what browsers send in Origin: no path, no trailing slash).
bool is_origin(std::string_view origin) {
  if (origin == "*") return true;
  const size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
  const std::string_view authority = origin.substr(scheme_end + 3);
  return !authority.empty() && authority.find_first_of("/?#") == std::string_view::npos &&
         !has_space_or_control(origin);
}

bool is_ice_url(std::string_view url) {
  constexpr std::array<std::string_view, 4> kSchemes = {"stun:", "stuns:", "turn:", "turns:"};
  const bool known = std::any_of(kSchemes.begin(), kSchemes.end(), [url](std::string_view s) {
    return url.size() > s.size() && url.substr(0, s.size()) == s;
  });
  return known && !has_space_or_control(url) && url.find('"') == std::string_view::npos;
}

void validate_path(const std::string& path, Reader& r) {
  if (path.empty() || path.front() != '/') {
    r.error("credentials.path", "must start with '/'");
  } else if (path.find_first_of("?#") != std::string::npos || has_space_or_control(path)) {
    r.error("credentials.path", "must be a plain path (no query, fragment or spaces)");
  } else if (path == "/healthz" || path == "/metrics") {
    r.error("credentials.path", path + " is reserved");
  }
}

void validate_api_keys(const std::vector<ApiKey>& keys, Reader& r) {
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string item = index_path("credentials.api_keys", i);
    if (keys[i].label.empty()) {
      r.error(item + ".label", "must not be empty (TURNPIKE_API_KEYS items are label:key)");
    } else if (!is_label(keys[i].label)) {
      r.error(item + ".label", "must be 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    const size_t length = keys[i].key.reveal().size();
    if (length == 0) {
      r.error(item + ".key", "must not be empty");
    } else if (length < kMinApiKeyChars) {
      r.error(item + ".key", "must be at least 16 characters");
    }
    for (size_t j = 0; j < i; ++j) {
      if (length != 0 && keys[j].key == keys[i].key) {
        r.error(item + ".key", "same key as " + index_path("credentials.api_keys", j));
        break;
      }
    }
  }
}

// hosts, extra_urls and cors_origins, item by item.
void validate_url_parts(const CredentialsConfig& c, Reader& r) {
  for (size_t i = 0; i < c.hosts.size(); ++i) {
    if (!is_host(c.hosts[i])) {
      r.error(index_path("credentials.hosts", i),
              quote_json(c.hosts[i]) + " is not a host name or IP address");
    }
  }
  for (size_t i = 0; i < c.extra_urls.size(); ++i) {
    if (!is_ice_url(c.extra_urls[i])) {
      r.error(index_path("credentials.extra_urls", i),
              quote_json(c.extra_urls[i]) + " is not a stun:, stuns:, turn: or turns: URL");
    }
  }
  for (size_t i = 0; i < c.cors_origins.size(); ++i) {
    if (!is_origin(c.cors_origins[i])) {
      r.error(
          index_path("credentials.cors_origins", i),
          quote_json(c.cors_origins[i]) + R"( is not an origin ("https://host[:port]" or "*"))");
    }
  }
}

}  // namespace

void read_credentials(Reader& r, const Json& value, const std::string& path, Config& config) {
  CredentialsConfig& c = config.credentials;
  const auto list = [&r](std::vector<std::string>& out) {
    return [&r, &out](const Json& v, const std::string& p) { read_string_list(r, v, p, out); };
  };
  const auto per_minute = [&r](uint32_t& out) {
    return [&r, &out](const Json& v, const std::string& p) {
      r.unsigned_into(v, p, out, 0, kMaxRatePerMinute);
    };
  };
  r.object(
      value, path,
      {{"path",
        [&](const Json& v, const std::string& p) {
          if (auto text = r.string(v, p)) c.path = std::move(*text);
        }},
       {"api_keys",
        [&](const Json& v, const std::string& p) { read_api_keys(r, v, p, c.api_keys); }},
       {"anonymous",
        [&](const Json& v, const std::string& p) {
          if (auto enabled = r.boolean(v, p)) c.anonymous = *enabled;
        }},
       {"cors_origins", list(c.cors_origins)},
       {"ttl", [&](const Json& v,
                   const std::string& p) { r.unsigned_into(v, p, c.ttl_s, 1, kMaxCredentialTtl); }},
       {"max_ttl",
        [&](const Json& v, const std::string& p) {
          r.unsigned_into(v, p, c.max_ttl_s, 1, kMaxCredentialTtl);
        }},
       {"hosts", list(c.hosts)},
       {"extra_urls", list(c.extra_urls)},
       {"rate_limit", [&](const Json& v, const std::string& p) {
          r.object(v, p,
                   {{"per_ip_per_minute", per_minute(c.rate_limit.per_ip_per_minute)},
                    {"per_key_per_minute", per_minute(c.rate_limit.per_key_per_minute)}});
        }}});
}

void validate_credentials(const Config& config, Reader& r) {
  const CredentialsConfig& c = config.credentials;
  validate_path(c.path, r);
  validate_api_keys(c.api_keys, r);
  if (c.enabled() && config.auth.rest_secrets.empty()) {
    r.error("credentials",
            "the credential endpoint (api_keys or anonymous) mints REST credentials and needs "
            "auth.rest_secrets (or TURNPIKE_REST_SECRETS)");
  }
  if (c.ttl_s == 0) r.error("credentials.ttl", "must be > 0");
  if (c.ttl_s > c.max_ttl_s) {
    r.error("credentials.ttl", "must be <= credentials.max_ttl (" + std::to_string(c.ttl_s) +
                                   " > " + std::to_string(c.max_ttl_s) + ")");
  }
  if (c.enabled() && c.hosts.empty()) {
    r.error("credentials.hosts",
            "at least one host is required when the credential endpoint is "
            "enabled (api_keys or anonymous)");
  }
  validate_url_parts(c, r);
}

// "label:key,label2:key2"; the key is everything after the first ':'. An item without ':'
// becomes a key with an empty label, which validate() reports without echoing the key.
void apply_credentials_env(CredentialsConfig& credentials, GetEnv getenv_fn) {
  const char* value = getenv_fn("TURNPIKE_API_KEYS");
  if (value == nullptr) return;
  std::vector<ApiKey> keys;
  for (const std::string_view item : env_list_items(value)) {
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      keys.push_back(ApiKey{"", Secret(std::string(item))});
    } else {
      keys.push_back(ApiKey{std::string(env_trim(item.substr(0, colon))),
                            Secret(std::string(env_trim(item.substr(colon + 1))))});
    }
  }
  if (!keys.empty()) credentials.api_keys = std::move(keys);
}

}  // namespace turnpike::config::detail
