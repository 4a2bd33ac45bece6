// One TURN allocation and what hangs off it (RFC 8656 §5, §9, §12). Permissions and channels are
// few per allocation (capped by config), so they live in small vectors: a linear scan of a handful
// of entries beats a hash lookup, and expiry is checked on every lookup, so an entry past its time
// is never used even before the timer reaps it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "turnpike/policy/ip_limits.h"
#include "turnpike/stun/constants.h"
#include "turnpike/turn/interfaces.h"
#include "turnpike/util/socket_address.h"
#include "turnpike/util/time.h"

namespace turnpike::turn {

struct Permission {
  IpAddress peer;  // RFC 8656 §9: permissions match the IP address only, not the port
  Millis expires = 0;
};

// What the peer rules said about one peer address (port included), cached with the generations
// it was computed under: a reload of the peer policy or a change of the host's own addresses makes
// it stale, and it is judged again on its next use (Server::judge).
struct PeerVerdict {
  enum class Kind : uint8_t { kAllowed, kDenied, kOwnListener, kOwnHost };
  Kind kind = Kind::kDenied;
  // One of our relay addresses (relay or advertised IP, a port of the range): reachable while an
  // allocation holds the port (asked on use); otherwise `kind` decides.
  bool own_relay = false;
  uint64_t policy_generation = 0;  // 0: never judged
  uint64_t own_generation = 0;
};

struct Channel {
  uint16_t number = 0;
  SocketAddress peer;
  Millis expires = 0;
  PeerVerdict verdict;  // cached (not the hairpin rule: a local allocation is looked up first)
};

struct Allocation {
  AllocationId id;
  FiveTuple client;
  SocketAddress relay_local;  // the socket's bound address
  SocketAddress relayed;      // what XOR-RELAYED-ADDRESS says (advertised IP, same port)
  std::string username;       // RFC 8656 §7.3: later requests must use the same one (441)
  std::string label;          // the quota label of `username` (AllocationQuota)
  stun::TransactionId allocate_transaction{};  // to answer a retransmitted Allocate (§7.2)
  Millis expires = 0;
  // EVEN-PORT with R=1 (RFC 8656 §7.2): the next port is held for a later Allocate that presents
  // the token. Released when used, after reservation_expires, or with this allocation.
  uint16_t reserved_port = 0;  // 0 = none
  uint64_t reservation_token = 0;
  Millis reservation_expires = 0;
  std::vector<Permission> permissions;
  std::vector<Channel> channels;
  // ServerConfig::max_bandwidth_per_allocation, one bucket per direction (payload bytes).
  policy::RateBucket to_peer_budget;
  policy::RateBucket to_client_budget;

  [[nodiscard]] const Permission* find_permission(const IpAddress& ip, Millis now) const noexcept;
  [[nodiscard]] const Channel* find_channel(uint16_t number, Millis now) const noexcept;
  [[nodiscard]] Channel* find_channel(uint16_t number, Millis now) noexcept {
    return const_cast<Channel*>(std::as_const(*this).find_channel(number, now));
  }
  [[nodiscard]] const Channel* find_channel_for(const SocketAddress& peer,
                                                Millis now) const noexcept;
  // Adds or refreshes; false when the cap is reached for a new entry.
  bool install_permission(const IpAddress& ip, Millis expires_at, size_t cap);
  bool install_channel(const Channel& channel, size_t cap);
  // Removes expired permissions and channels; returns the earliest expiry left (or `expires`).
  Millis reap(Millis now);
};

}  // namespace turnpike::turn
