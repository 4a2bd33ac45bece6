// What turn::Server needs to know, as plain values (derived from config::Config by the daemon).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  // The quotas (allocation.max_total, max_per_user, max_per_label; 0 per label: no limit of its
  // own). Enforced by the AllocationQuota the transport passes in, shared by all workers; the
  // transport builds it from these values.
  uint32_t max_allocations = 10'000;
  uint32_t max_allocations_per_user = 100;
  uint32_t max_allocations_per_label = 0;
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
  // The server's own listening addresses (every listener's port on each local address it is
  // reached at): never a peer, whatever the peer filter says (RFC 8656 §21.1.7 loops; exact
  // address and port match). false only when config peers.allow_listeners says so.
  std::vector<SocketAddress> own_listeners;
  bool allow_own_listeners = false;

  // Abuse limits (docs/security.md). Unauthenticated STUN requests (no MESSAGE-INTEGRITY, or one
  // that fails) per source address (IPv6: per /64): over the rate they are dropped silently.
  // unauthenticated_rate_per_s == 0 disables the limit.
  uint32_t unauthenticated_rate_per_s = 50;
  uint32_t unauthenticated_burst = 100;
  size_t unauthenticated_sources = 16384;  // table slots (per server, i.e. per worker)
  // Relayed payload bytes per second per allocation, each direction separately (0 = unlimited);
  // the bucket holds one second's worth, at least one maximal datagram. Excess is dropped.
  uint64_t max_bandwidth_per_allocation = 12'500'000;
  // Over UDP, 401/438 challenges are built no larger than the request (optional parts are left
  // out; see send_challenge), so spoofed requests cannot be amplified. Streams always get all.
  bool small_challenges = true;
};

}  // namespace turnpike::turn
