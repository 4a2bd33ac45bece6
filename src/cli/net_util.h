// Small helpers shared by the turnpike CLI subcommands: HOST[:PORT] parsing and resolution, the
// transport names, and the monotonic clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "turnpike/util/socket_address.h"

namespace turnpike::cli {

inline constexpr uint16_t kDefaultStunPort = 3478;
inline constexpr uint16_t kDefaultTlsPort = 5349;

struct HostPort {
  std::string host;  // without brackets for IPv6 literals
  uint16_t port = 0;
};

// "host", "host:port", "1.2.3.4:5", "[::1]", "[::1]:5" or a bare IPv6 literal "::1". A missing
// port becomes default_port. nullopt (with *error set) when malformed.
std::optional<HostPort> parse_host_port(std::string_view text, uint16_t default_port,
                                        std::string* error);

// Resolves host to one address (numeric literals without DNS). IPv4 results come first.
std::optional<SocketAddress> resolve(const HostPort& target, std::string* error);

// "udp" / "tcp" / "tls" -> Transport.
std::optional<Transport> parse_transport(std::string_view name);
// The default server port for a transport (5349 for TLS, 3478 otherwise).
inline uint16_t default_port_for(Transport t) {
  return t == Transport::kTls ? kDefaultTlsPort : kDefaultStunPort;
}

// True when host is an IPv4 or IPv6 literal (no SNI is sent for those, RFC 6066 §3).
bool is_ip_literal(const std::string& host);

// Monotonic clock in nanoseconds (uv_hrtime's clock: CLOCK_MONOTONIC).
int64_t mono_ns() noexcept;
// Wall clock in Unix seconds.
int64_t unix_seconds() noexcept;

// Formats a duration given in microseconds as "85 us", "1.25 ms" or "2.31 s".
std::string format_us(double us);

}  // namespace turnpike::cli
