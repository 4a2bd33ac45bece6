#include "turnpike/config/config_loader.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>
#include <utility>

#include "json_reader.h"
#include "turnpike/policy/peer_filter.h"

namespace turnpike::config {
namespace {

using detail::index_path;
using detail::Json;
using detail::key_path;
using detail::quote_json;
using detail::Reader;

constexpr uint16_t kDefaultPort = 3478;     // RFC 8656 §4: STUN/TURN over UDP and TCP
constexpr uint16_t kDefaultTlsPort = 5349;  // ... and over TLS
constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kMinNonceLifetime = 30;
constexpr uint32_t kMaxNonceLifetime = 86400;
constexpr size_t kMaxTextChars = 127;      // REALM and SOFTWARE: fewer than 128 characters
constexpr size_t kMaxUsernameBytes = 512;  // USERNAME: fewer than 513 bytes (RFC 8489 §14.3)
constexpr std::uintmax_t kMaxFileBytes = 16U << 20U;
constexpr uint32_t kMaxCredentialTtl = 7 * 86400;  // credentials.ttl / max_ttl upper bound
constexpr uint32_t kMaxRatePerMinute = 1000000;
constexpr size_t kMaxLabelChars = 64;
constexpr size_t kMinApiKeyChars = 16;
constexpr size_t kMaxHostChars = 253;
constexpr uint32_t kMaxConnections = 10'000'000;
constexpr uint64_t kMaxBandwidth = 100'000'000'000ULL;  // 100 GB/s: above any NIC
constexpr uint32_t kMaxRequestRate = 1'000'000;
constexpr uint32_t kMaxGracePeriod = 86400;
constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};

// ---- checks made while parsing (so one run reports them) and again by validate() (so configs
// built or changed in code are covered too) ----

void check_cidr(const std::string& text, std::string_view path, Reader& reader) {
  if (!policy::Cidr::parse(text)) reader.error(path, quote_json(text) + " is not a CIDR range");
}

void check_log_level(const std::string& level, Reader& reader) {
  for (const std::string_view known : kLogLevels) {
    if (level == known) return;
  }
  reader.error("log.level",
               quote_json(level) + " is not one of trace, debug, info, warn, error, critical, off");
}

void check_nonce_lifetime(uint32_t seconds, Reader& reader) {
  if (seconds < kMinNonceLifetime || seconds > kMaxNonceLifetime) {
    reader.error("auth.nonce_lifetime", std::to_string(seconds) + " is out of range " +
                                            std::to_string(kMinNonceLifetime) + "-" +
                                            std::to_string(kMaxNonceLifetime));
  }
}

// ---- reading the document ----

constexpr uint16_t kDefaultMetricsPort = 9641;

bool parse_transport(std::string_view name, Listener& listener) {
  listener.http_only = name == "http" || name == "https";
  listener.metrics = name == "http";
  if (name == "udp") {
    listener.transport = Transport::kUdp;
  } else if (name == "tcp" || name == "http") {
    listener.transport = Transport::kTcp;
  } else if (name == "tls" || name == "https") {
    listener.transport = Transport::kTls;
  } else {
    return false;
  }
  return true;
}

Listener read_listener(Reader& r, const Json& value, const std::string& path) {
  Listener listener;
  std::optional<uint16_t> port;
  std::optional<bool> metrics;
  r.object(value, path,
           {{"transport",
             [&](const Json& v, const std::string& p) {
               if (auto name = r.string(v, p)) {
                 if (!parse_transport(*name, listener)) {
                   r.error(p, quote_json(*name) + " is not one of udp, tcp, tls, http, https");
                 }
               }
             }},
            {"metrics", [&](const Json& v, const std::string& p) { metrics = r.boolean(v, p); }},
            {"proxy_protocol",
             [&](const Json& v, const std::string& p) {
               if (auto on = r.boolean(v, p)) listener.proxy_protocol = *on;
             }},
            {"address",
             [&](const Json& v, const std::string& p) {
               if (auto ip = r.ip_address(v, p)) listener.address.ip = *ip;
             }},
            {"port", [&](const Json& v, const std::string& p) {
               if (auto n = r.integer(v, p, 1, 65535)) port = static_cast<uint16_t>(*n);
             }}});
  if (metrics) listener.metrics = *metrics;
  uint16_t default_port = listener.transport == Transport::kTls ? kDefaultTlsPort : kDefaultPort;
  if (listener.http_only)
    default_port = listener.transport == Transport::kTls ? 443 : kDefaultMetricsPort;
  listener.address.port = port.value_or(default_port);
  if (listener.proxy_protocol && listener.transport == Transport::kUdp) {
    r.error(path + ".proxy_protocol",
            "PROXY protocol is for TCP-based listeners (tcp, tls, http, https)");
  }
  if (listener.metrics && listener.transport == Transport::kUdp) {
    r.error(path + ".metrics",
            "only listeners that speak HTTP (tls, http, https) can serve /metrics");
  }
  return listener;
}

void read_listeners(Reader& r, const Json& value, const std::string& path, Config& config) {
  if (!r.array(value, path)) return;
  config.listeners.clear();
  for (size_t i = 0; i < value.size(); ++i) {
    config.listeners.push_back(read_listener(r, value[i], index_path(path, i)));
  }
}

void read_optional_ip(Reader& r, const Json& v, const std::string& p,
                      std::optional<IpAddress>& out) {
  if (auto ip = r.ip_address(v, p)) out = *ip;
}

void read_relay(Reader& r, const Json& value, const std::string& path, RelayConfig& relay,
                bool& has_address) {
  r.object(
      value, path,
      {{"address",
        [&](const Json& v, const std::string& p) {
          has_address = true;
          if (auto ip = r.ip_address(v, p)) relay.address = *ip;
        }},
       {"advertised_address",
        [&](const Json& v, const std::string& p) {
          read_optional_ip(r, v, p, relay.advertised_address);
        }},
       {"ipv6_address",
        [&](const Json& v, const std::string& p) {
          read_optional_ip(r, v, p, relay.ipv6_address);
        }},
       {"advertised_ipv6_address",
        [&](const Json& v, const std::string& p) {
          read_optional_ip(r, v, p, relay.advertised_ipv6_address);
        }},
       {"port_min", [&](const Json& v,
                        const std::string& p) { r.unsigned_into(v, p, relay.port_min, 1, 65535); }},
       {"port_max", [&](const Json& v, const std::string& p) {
          r.unsigned_into(v, p, relay.port_max, 1, 65535);
        }}});
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

void read_auth(Reader& r, const Json& value, const std::string& path, AuthConfig& auth) {
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

void read_allocation(Reader& r, const Json& value, const std::string& path,
                     AllocationConfig& allocation) {
  // Zero values are type-correct here; validate() explains why they are not allowed.
  const auto u32 = [&r](uint32_t& out) {
    return
        [&r, &out](const Json& v, const std::string& p) { r.unsigned_into(v, p, out, 0, kMaxU32); };
  };
  r.object(value, path,
           {{"default_lifetime", u32(allocation.default_lifetime_s)},
            {"max_lifetime", u32(allocation.max_lifetime_s)},
            {"permission_lifetime", u32(allocation.permission_lifetime_s)},
            {"channel_lifetime", u32(allocation.channel_lifetime_s)},
            {"max_total", u32(allocation.max_total)},
            {"max_per_user", u32(allocation.max_per_user)},
            {"max_permissions", u32(allocation.max_permissions)},
            {"max_channels", u32(allocation.max_channels)},
            {"strict_channel_numbers", [&r, &allocation](const Json& v, const std::string& p) {
               if (auto strict = r.boolean(v, p)) allocation.strict_channel_numbers = *strict;
             }}});
}

void read_cidr_list(Reader& r, const Json& value, const std::string& path,
                    std::vector<std::string>& out) {
  if (!r.array(value, path)) return;
  std::vector<std::string> cidrs;
  for (size_t i = 0; i < value.size(); ++i) {
    if (auto text = r.string(value[i], index_path(path, i))) {
      check_cidr(*text, index_path(path, i), r);
      cidrs.push_back(std::move(*text));
    }
  }
  out = std::move(cidrs);
}

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

void read_credentials(Reader& r, const Json& value, const std::string& path, CredentialsConfig& c) {
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

void read_limits(Reader& r, const Json& value, const std::string& path, LimitsConfig& limits) {
  r.object(value, path,
           {{"max_connections",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.max_connections, 0, kMaxConnections);
             }},
            {"max_connections_per_ip",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.max_connections_per_ip, 0, kMaxConnections);
             }},
            {"max_bandwidth_per_allocation",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.max_bandwidth_per_allocation, 0, kMaxBandwidth);
             }},
            {"unauthenticated_requests_per_second",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.unauthenticated_requests_per_second, 0,
                               kMaxRequestRate);
             }},
            {"unauthenticated_burst", [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.unauthenticated_burst, 1, kMaxRequestRate);
             }}});
}

void read_document(Reader& r, const Json& root, Config& config) {
  bool has_relay_address = false;
  r.object(
      root, "",
      {{"listeners", [&](const Json& v, const std::string& p) { read_listeners(r, v, p, config); }},
       {"relay",
        [&](const Json& v, const std::string& p) {
          if (!v.is_object()) has_relay_address = true;  // the type error is enough
          read_relay(r, v, p, config.relay, has_relay_address);
        }},
       {"auth", [&](const Json& v, const std::string& p) { read_auth(r, v, p, config.auth); }},
       {"allocation",
        [&](const Json& v, const std::string& p) { read_allocation(r, v, p, config.allocation); }},
       {"peers",
        [&](const Json& v, const std::string& p) {
          r.object(v, p,
                   {{"allow",
                     [&](const Json& list, const std::string& lp) {
                       read_cidr_list(r, list, lp, config.peers.allow);
                     }},
                    {"deny",
                     [&](const Json& list, const std::string& lp) {
                       read_cidr_list(r, list, lp, config.peers.deny);
                     }},
                    {"allow_listeners", [&](const Json& flag, const std::string& fp) {
                       if (auto on = r.boolean(flag, fp)) config.peers.allow_listeners = *on;
                     }}});
        }},
       {"limits",
        [&](const Json& v, const std::string& p) { read_limits(r, v, p, config.limits); }},
       {"shutdown",
        [&](const Json& v, const std::string& p) {
          r.object(v, p, {{"grace_period", [&](const Json& g, const std::string& gp) {
                             r.unsigned_into(g, gp, config.shutdown.grace_period_s, 0,
                                             kMaxGracePeriod);
                           }}});
        }},
       {"log",
        [&](const Json& v, const std::string& p) {
          r.object(v, p, {{"level", [&](const Json& level, const std::string& lp) {
                             if (auto text = r.string(level, lp)) {
                               check_log_level(*text, r);
                               config.log.level = std::move(*text);
                             }
                           }}});
        }},
       {"tls",
        [&](const Json& v, const std::string& p) {
          r.object(v, p,
                   {{"certificate",
                     [&](const Json& t, const std::string& tp) {
                       if (auto text = r.string(t, tp)) config.tls.certificate = std::move(*text);
                     }},
                    {"private_key",
                     [&](const Json& t, const std::string& tp) {
                       if (auto text = r.string(t, tp)) config.tls.private_key = std::move(*text);
                     }},
                    {"handshake_timeout", [&](const Json& t, const std::string& tp) {
                       r.unsigned_into(t, tp, config.tls.handshake_timeout_s, 1, 300);
                     }}});
        }},
       {"credentials",
        [&](const Json& v, const std::string& p) {
          read_credentials(r, v, p, config.credentials);
        }},
       {"workers", [&](const Json& v,
                       const std::string& p) { r.unsigned_into(v, p, config.workers, 0, 256); }},
       {"user",
        [&](const Json& v, const std::string& p) {
          if (auto text = r.string(v, p)) config.user = std::move(*text);
        }},
       {"group",
        [&](const Json& v, const std::string& p) {
          if (auto text = r.string(v, p)) config.group = std::move(*text);
        }},
       {"software", [&](const Json& v, const std::string& p) {
          if (auto text = r.string(v, p)) config.software = std::move(*text);
        }}});
  if (root.is_object() && !root.contains("listeners")) {
    // RFC 8656 §4 ports: 3478 for UDP and TCP, 5349 for TLS; and TLS on 443 for networks that
    // let nothing but HTTPS out.
    const SocketAddress any{IpAddress{}, kDefaultPort};
    config.listeners = {Listener{Transport::kUdp, any, false, false, false},
                        Listener{Transport::kTcp, any, false, false, false}};
    if (!config.tls.certificate.empty()) {
      config.listeners.push_back(Listener{
          Transport::kTls, SocketAddress{IpAddress{}, kDefaultTlsPort}, false, false, false});
      config.listeners.push_back(
          Listener{Transport::kTls, SocketAddress{IpAddress{}, 443}, false, false, false});
    }
  }
  if (root.is_object() && !has_relay_address) r.error("relay.address", "required");
}

// ---- validate() helpers ----

void check_ip(const std::optional<IpAddress>& ip, std::string_view path, Family family,
              Reader& reader) {
  if (!ip) return;
  if (ip->family != family) {
    reader.error(path, "must be an " + std::string(family == Family::kIPv4 ? "IPv4" : "IPv6") +
                           " address, got " + ip->to_string());
  } else if (ip->is_unspecified()) {
    reader.error(path, ip->to_string() + " is unspecified; give a concrete address");
  }
}

void validate_listeners(const Config& config, Reader& r) {
  if (config.listeners.empty()) r.error("listeners", "at least one listener is required");
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const Listener& listener = config.listeners[i];
    if (listener.address.port == 0) r.error(index_path("listeners", i) + ".port", "must not be 0");
    for (size_t j = 0; j < i; ++j) {
      const Listener& other = config.listeners[j];
      const bool both_stream =
          listener.transport != Transport::kUdp && other.transport != Transport::kUdp;
      if (listener.address == other.address &&
          (listener.transport == other.transport || both_stream)) {
        r.error(index_path("listeners", i),
                listener.address.to_string() + " is already used by " + index_path("listeners", j));
        break;
      }
    }
  }
}

void validate_relay(const RelayConfig& relay, Reader& r) {
  check_ip(relay.address, "relay.address", Family::kIPv4, r);
  check_ip(relay.advertised_address, "relay.advertised_address", Family::kIPv4, r);
  check_ip(relay.ipv6_address, "relay.ipv6_address", Family::kIPv6, r);
  check_ip(relay.advertised_ipv6_address, "relay.advertised_ipv6_address", Family::kIPv6, r);
  if (relay.advertised_ipv6_address && !relay.ipv6_address) {
    r.error("relay.advertised_ipv6_address", "requires relay.ipv6_address");
  }
  if (relay.port_min == 0) r.error("relay.port_min", "must not be 0");
  if (relay.port_min > relay.port_max) {
    r.error("relay.port_min", "must be <= relay.port_max (" + std::to_string(relay.port_min) +
                                  " > " + std::to_string(relay.port_max) + ")");
  }
}

void validate_auth(const AuthConfig& auth, Reader& r) {
  if (auth.realm.empty()) r.error("auth.realm", "must not be empty");
  if (detail::utf8_length(auth.realm) > kMaxTextChars) {
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

void validate_allocation(const AllocationConfig& a, Reader& r) {
  const std::array<std::pair<std::string_view, uint32_t>, 8> positive = {{
      {"allocation.default_lifetime", a.default_lifetime_s},
      {"allocation.max_lifetime", a.max_lifetime_s},
      {"allocation.permission_lifetime", a.permission_lifetime_s},
      {"allocation.channel_lifetime", a.channel_lifetime_s},
      {"allocation.max_total", a.max_total},
      {"allocation.max_per_user", a.max_per_user},
      {"allocation.max_permissions", a.max_permissions},
      {"allocation.max_channels", a.max_channels},
  }};
  for (const auto& [path, value] : positive) {
    if (value == 0) r.error(path, "must be > 0");
  }
  if (a.max_lifetime_s < a.default_lifetime_s) {
    r.error("allocation.max_lifetime", "must be >= allocation.default_lifetime (" +
                                           std::to_string(a.max_lifetime_s) + " < " +
                                           std::to_string(a.default_lifetime_s) + ")");
  }
}

void validate_limits(const Config& config, Reader& r) {
  const LimitsConfig& l = config.limits;
  if (l.max_connections > kMaxConnections) {
    r.error("limits.max_connections", "must be at most " + std::to_string(kMaxConnections));
  }
  if (l.max_connections_per_ip > kMaxConnections) {
    r.error("limits.max_connections_per_ip", "must be at most " + std::to_string(kMaxConnections));
  }
  if (l.max_connections != 0 && l.max_connections_per_ip > l.max_connections) {
    r.error("limits.max_connections_per_ip", "must be <= limits.max_connections (" +
                                                 std::to_string(l.max_connections_per_ip) + " > " +
                                                 std::to_string(l.max_connections) + ")");
  }
  if (l.max_bandwidth_per_allocation > kMaxBandwidth) {
    r.error("limits.max_bandwidth_per_allocation",
            "must be at most " + std::to_string(kMaxBandwidth) + " (bytes per second)");
  }
  if (l.unauthenticated_requests_per_second > kMaxRequestRate) {
    r.error("limits.unauthenticated_requests_per_second",
            "must be at most " + std::to_string(kMaxRequestRate));
  }
  if (l.unauthenticated_burst == 0 || l.unauthenticated_burst > kMaxRequestRate) {
    r.error("limits.unauthenticated_burst",
            "must be between 1 and " + std::to_string(kMaxRequestRate));
  }
  if (config.shutdown.grace_period_s > kMaxGracePeriod) {
    r.error("shutdown.grace_period", "must be at most " + std::to_string(kMaxGracePeriod));
  }
}

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

void validate_credentials(const Config& config, Reader& r) {
  const CredentialsConfig& c = config.credentials;
  if (c.path.empty() || c.path.front() != '/') {
    r.error("credentials.path", "must start with '/'");
  } else if (c.path.find_first_of("?#") != std::string::npos || has_space_or_control(c.path)) {
    r.error("credentials.path", "must be a plain path (no query, fragment or spaces)");
  } else if (c.path == "/healthz" || c.path == "/metrics") {
    r.error("credentials.path", c.path + " is reserved");
  }
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

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

Result<Config, ConfigErrors> parse_config(std::string_view json_text) {
  ConfigErrors errors;
  Config config;
  try {
    std::optional<Json> root = detail::parse_json(json_text, errors);
    if (root) {
      Reader reader(errors);
      read_document(reader, *root, config);
    }
  } catch (const std::exception&) {  // nlohmann or allocation failure: never let it escape
    errors.messages.emplace_back("(root): internal error while reading the configuration");
  }
  if (!errors.messages.empty()) return unexpected(std::move(errors));
  return config;
}

Result<Config, ConfigErrors> load_config_file(const std::string& path) {
  ConfigErrors errors;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_directory(status)) {
    errors.messages.push_back(path + ": is a directory, not a config file");
    return unexpected(std::move(errors));
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno != 0 ? errno : ENOENT;
    errors.messages.push_back(path + ": cannot open: " + std::generic_category().message(error));
    return unexpected(std::move(errors));
  }
  std::string text;
  std::array<char, 65536> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    text.append(buffer.data(), static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      errors.messages.push_back(path + ": larger than 16 MiB, not a config file");
      return unexpected(std::move(errors));
    }
  }
  if (in.bad()) {
    errors.messages.push_back(path + ": cannot read");
    return unexpected(std::move(errors));
  }
  return parse_config(text);
}

void apply_env_overrides(Config& config, GetEnv getenv_fn) {
  if (getenv_fn == nullptr) {
    getenv_fn = [](const char* name) -> const char* { return std::getenv(name); };
  }
  // Empty values count as unset, so "TURNPIKE_REST_SECRETS=" cannot silently wipe the file's.
  if (const char* value = getenv_fn("TURNPIKE_REST_SECRETS"); value != nullptr) {
    std::vector<Secret> secrets;
    std::string_view rest(value);
    while (true) {
      const size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty()) secrets.emplace_back(std::string(item));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!secrets.empty()) config.auth.rest_secrets = std::move(secrets);
  }
  if (const char* value = getenv_fn("TURNPIKE_REALM"); value != nullptr && *value != '\0') {
    config.auth.realm = value;
  }
  // "label:key,label2:key2"; the key is everything after the first ':'. An item without ':'
  // becomes a key with an empty label, which validate() reports without echoing the key.
  if (const char* value = getenv_fn("TURNPIKE_API_KEYS"); value != nullptr) {
    std::vector<ApiKey> keys;
    std::string_view rest(value);
    while (true) {
      const size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty()) {
        const size_t colon = item.find(':');
        if (colon == std::string_view::npos) {
          keys.push_back(ApiKey{"", Secret(std::string(item))});
        } else {
          keys.push_back(ApiKey{std::string(trim(item.substr(0, colon))),
                                Secret(std::string(trim(item.substr(colon + 1))))});
        }
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!keys.empty()) config.credentials.api_keys = std::move(keys);
  }
}

void validate(const Config& config, ConfigErrors& errors) {
  Reader r(errors);
  validate_listeners(config, r);
  validate_relay(config.relay, r);
  validate_auth(config.auth, r);
  validate_allocation(config.allocation, r);
  validate_limits(config, r);
  for (size_t i = 0; i < config.peers.allow.size(); ++i) {
    check_cidr(config.peers.allow[i], index_path("peers.allow", i), r);
  }
  for (size_t i = 0; i < config.peers.deny.size(); ++i) {
    check_cidr(config.peers.deny[i], index_path("peers.deny", i), r);
  }
  check_log_level(config.log.level, r);
  validate_credentials(config, r);
  const bool has_tls = !config.tls.certificate.empty() || !config.tls.private_key.empty();
  if (has_tls && config.tls.certificate.empty())
    r.error("tls.certificate", "required with tls.private_key");
  if (has_tls && config.tls.private_key.empty())
    r.error("tls.private_key", "required with tls.certificate");
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    if (config.listeners[i].transport == Transport::kTls && !has_tls) {
      r.error(index_path("listeners", i) + ".transport",
              "tls needs tls.certificate and tls.private_key");
    }
  }
  if (!config.group.empty() && config.user.empty()) r.error("group", "requires user");
  if (detail::utf8_length(config.software) > kMaxTextChars) {
    r.error("software", "must be fewer than 128 characters");
  }
}

}  // namespace turnpike::config
