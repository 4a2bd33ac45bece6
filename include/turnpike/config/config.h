// The daemon's configuration as plain structs. Parsed once (config_loader.h); the core receives
// the parts it needs, never JSON. Defaults here are the documented defaults
// (docs/configuration.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "turnpike/util/secret.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::config {

struct Listener {
  Transport transport = Transport::kUdp;  // "http" is kTcp + http_only, "https" kTls + http_only
  SocketAddress address;                  // e.g. 0.0.0.0:3478
  // Serves only HTTP (the credential endpoint, /healthz, /metrics), no TURN. TLS listeners that
  // are not http_only serve both: TURN, or HTTP when ALPN says http/1.1 or the first bytes are an
  // HTTP request.
  bool http_only = false;
  bool metrics = false;         // /metrics answered here (default: only on "http" listeners)
  bool proxy_protocol = false;  // a PROXY v2 header precedes each connection (TCP-based only)
  // The proxies allowed to send that header (CIDRs): required when proxy_protocol is true; a
  // connection from any other address is closed at accept.
  std::vector<std::string> proxy_protocol_from;
};

struct RelayConfig {
  // Address relay sockets bind to (IPv4). Must be a concrete address (not 0.0.0.0): it is what
  // XOR-RELAYED-ADDRESS reports unless `advertised_address` is set.
  IpAddress address = IpAddress::v4(127, 0, 0, 1);
  std::optional<IpAddress> advertised_address;  // public address behind 1:1 NAT
  std::optional<IpAddress> ipv6_address;        // enables IPv6 relays (RFC 6156)
  std::optional<IpAddress> advertised_ipv6_address;
  uint16_t port_min = 49152;
  uint16_t port_max = 65535;
};

struct AuthConfig {
  std::string realm = "turnpike";
  std::map<std::string, Secret> static_users;  // username -> password
  std::vector<Secret> rest_secrets;            // first one mints; all verify
  char rest_separator = ':';
  uint32_t nonce_lifetime_s = 600;
  bool password_algorithms = true;  // RFC 8489 security features (SHA-256 keys, USERHASH)
};

struct AllocationConfig {
  uint32_t default_lifetime_s = 600;
  uint32_t max_lifetime_s = 3600;
  uint32_t permission_lifetime_s = 300;
  uint32_t channel_lifetime_s = 600;
  uint32_t max_total = 10000;
  uint32_t max_per_user = 100;
  // Per label: the app part of TURN REST usernames ("<expiry>:<label>"), the name of a static
  // user. 0 = no limit of its own (max_total still applies).
  uint32_t max_per_label = 0;
  uint32_t max_permissions = 128;  // per allocation
  uint32_t max_channels = 128;     // per allocation
  // true: only RFC 8656 channel numbers 0x4000-0x4FFF; false: also RFC 5766's 0x5000-0x7FFF.
  bool strict_channel_numbers = false;
};

struct PeerConfig {
  std::vector<std::string> allow;  // CIDRs that override the deny list (e.g. "127.0.0.0/8")
  std::vector<std::string> deny;   // extra CIDRs denied on top of the built-in list
  // The server's own listening addresses (IP and port) are never peers unless this is true.
  bool allow_listeners = false;
};

// Abuse limits (docs/security.md). 0 means "no limit" for each of them.
struct LimitsConfig {
  uint32_t max_connections = 10000;      // TCP/TLS connections open at once, all listeners
  uint32_t max_connections_per_ip = 64;  // ... from one IPv4 address or IPv6 /64
  uint64_t max_bandwidth_per_allocation = 12'500'000;  // relayed bytes/s, each direction
  uint32_t unauthenticated_requests_per_second = 50;   // per IPv4 address or IPv6 /64
  uint32_t unauthenticated_burst = 100;
  // A TCP/TLS TURN connection without an allocation is closed this many seconds after its first
  // message, or after its allocation ended.
  uint32_t stream_idle_timeout_s = 30;
};

struct ShutdownConfig {
  // SIGTERM: refuse new allocations (508) and wait up to this many seconds for the existing ones
  // to end before exiting. 0: exit at once.
  uint32_t grace_period_s = 0;
};

struct TlsConfig {
  std::string certificate;  // PEM chain path (leaf first), e.g. Let's Encrypt fullchain.pem
  std::string private_key;  // PEM key path; read before privileges are dropped
  uint32_t handshake_timeout_s = 10;  // also the first-message deadline on plain TCP
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
};

// An API key of the HTTP credential endpoint. The label names the caller: it becomes the user
// part of the minted REST username ("<expiry>:<label>"), so it shows up in TURN logs and quotas.
struct ApiKey {
  std::string label;  // [A-Za-z0-9._-]{1,64}
  Secret key;         // at least 16 characters; never printed
  bool operator==(const ApiKey&) const = default;
};

struct CredentialsRateLimit {
  uint32_t per_ip_per_minute = 60;    // 0 = unlimited
  uint32_t per_key_per_minute = 600;  // per API key label (anonymous: all anonymous callers)
  bool operator==(const CredentialsRateLimit&) const = default;
};

// The HTTP endpoint that hands out TURN REST credentials (minted with auth.rest_secrets[0]).
struct CredentialsConfig {
  std::string path = "/turn-credentials";
  std::vector<ApiKey> api_keys;
  bool anonymous = false;                 // serve callers without a key (label "anonymous")
  std::vector<std::string> cors_origins;  // "https://app.example.com" or "*"
  uint32_t ttl_s = 86400;                 // default credential lifetime
  uint32_t max_ttl_s = 86400;             // upper bound for a requested ttl
  std::vector<std::string> hosts;         // host names / IP literals put into the URLs
  std::vector<std::string> extra_urls;    // added verbatim ("turn:h:80?transport=tcp")
  CredentialsRateLimit rate_limit;

  // The endpoint answers only when someone can use it.
  [[nodiscard]] bool enabled() const noexcept { return anonymous || !api_keys.empty(); }
};

struct Config {
  std::vector<Listener> listeners;  // parse_config default: udp 0.0.0.0:3478 (see docs)
  RelayConfig relay;
  AuthConfig auth;
  AllocationConfig allocation;
  PeerConfig peers;
  TlsConfig tls;
  LogConfig log;
  CredentialsConfig credentials;
  LimitsConfig limits;
  ShutdownConfig shutdown;
  uint32_t workers = 0;               // event-loop threads; 0 = one per CPU core
  std::string user;                   // drop to this user after binding (when started as root)
  std::string group;                  // and this group (default: the user's primary group)
  std::string software = "turnpike";  // SOFTWARE attribute value; empty disables it
};

}  // namespace turnpike::config
