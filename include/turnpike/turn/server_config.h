// What turn::Server needs to know, as plain values (derived from config::Config by the daemon).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "turnpike/util/socket_address.h"
#include "turnpike/util/time.h"

namespace turnpike::turn {

struct ServerConfig {
  std::string realm = "turnpike";
  std::string software = "turnpike";  // empty: no SOFTWARE attribute
  Millis default_lifetime_ms = 600'000;
  Millis max_lifetime_ms = 3'600'000;
  Millis permission_lifetime_ms = 300'000;  // RFC 8656 §9: 300 s, fixed by the RFC
  Millis channel_lifetime_ms = 600'000;     // RFC 8656 §12: 10 minutes
  Millis nonce_lifetime_ms = 600'000;
  Millis reservation_lifetime_ms = 30'000;  // RFC 8656 §7.2: about 30 s
  uint32_t max_allocations = 10'000;
  uint32_t max_allocations_per_user = 100;
  uint32_t max_permissions = 128;
  uint32_t max_channels = 128;
  bool password_algorithms = true;  // offer RFC 8489 PASSWORD-ALGORITHMS (SHA-256, MD5)
  // RFC 8656 §12 narrowed channel numbers to 0x4000-0x4FFF; RFC 5766 clients use up to 0x7FFF.
  // false (default): accept 0x4000-0x7FFF; true: only the RFC 8656 range (others get 400).
  bool strict_channel_numbers = false;
  bool ipv6_relay = false;  // an IPv6 relay address is configured (RFC 6156)
  // The relay sockets of the whole server (all workers) bind to these addresses and ports. A peer
  // address among them is one of our own relays: allowed whatever the peer filter says, and
  // reached on the local address, never through the public one (RFC 8656 §21.2.2's deny-list
  // aside, cloud 1:1 NAT drops hairpinned packets).
  std::optional<IpAddress> relay_ipv4;
  std::optional<IpAddress> relay_ipv6;
  uint16_t relay_port_min = 49152;
  uint16_t relay_port_max = 65535;
  // Public addresses reported in XOR-RELAYED-ADDRESS when relays bind behind 1:1 NAT.
  std::optional<IpAddress> advertised_ipv4;
  std::optional<IpAddress> advertised_ipv6;
  // Seeds reservation tokens and indication transaction ids (the daemon passes random bytes).
  uint64_t random_seed = 0x9E3779B97F4A7C15ULL;
};

}  // namespace turnpike::turn
