// What turn::Server needs from the world, as narrow interfaces the transport implements (and tests
// fake): an outbox for bytes to send, a relay allocator for relay sockets, and an observer for
// events worth counting or logging. The server never touches a socket or a log.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::turn {

// Index + generation: a stale id never reaches a reused slot.
struct AllocationId {
  uint32_t index = 0;
  uint32_t generation = 0;
  bool operator==(const AllocationId&) const = default;
};

// Bytes the server wants sent. `bytes` is borrowed for the duration of the call only.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void to_client(const FiveTuple& client, ByteView bytes) = 0;
  virtual void to_peer(AllocationId relay, const SocketAddress& peer, ByteView bytes) = 0;
};

struct RelayRequest {
  Family family = Family::kIPv4;
  bool even_port = false;     // EVEN-PORT (RFC 8656 §7.2): the port must be even
  bool reserve_next = false;  // EVEN-PORT with R=1: also hold port + 1 (implies even_port)
  uint16_t port = 0;          // a specific port (from a RESERVATION-TOKEN), 0 = any
};

// Opens and closes relay sockets (the transport binds a UDP socket from the port range). The
// returned address is the local one the socket is bound to. With reserve_next, the port is even
// and port + 1 is held until release_reservation() or its use by a RESERVATION-TOKEN request.
class RelayAllocator {
 public:
  virtual ~RelayAllocator() = default;
  virtual std::optional<SocketAddress> open(AllocationId owner, const RelayRequest& request) = 0;
  virtual void close(AllocationId owner) = 0;
  // Frees a held port that was not redeemed (no-op if it was redeemed meanwhile).
  virtual void release_reservation(Family family, uint16_t port) = 0;
  // With several workers, the second Allocate of a pair may reach another worker: reservations
  // are also registered where every worker can redeem them. Defaults: nothing is shared.
  virtual void share_reservation(uint64_t /*token*/, Family /*family*/, uint16_t /*port*/) {}
  virtual std::optional<std::pair<Family, uint16_t>> take_shared_reservation(uint64_t /*token*/) {
    return std::nullopt;
  }
};

enum class AuthFailure : uint8_t {
  kMissingAttributes,  // 400: MESSAGE-INTEGRITY without USERNAME/REALM/NONCE
  kStaleNonce,         // 438
  kInvalidNonce,       // 438: not issued by us, or for another address
  kUnknownUser,        // 401
  kExpiredUser,        // 401: TURN REST username past its expiry
  kBadIntegrity,       // 401: wrong password
  kDowngrade,          // 400: PASSWORD-ALGORITHMS does not match what we offered (RFC 8489 §9.2.4)
};
const char* to_string(AuthFailure f) noexcept;

// Events for metrics and (rate-limited) logs. Default: ignore.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_allocation_created(const FiveTuple&, const SocketAddress& /*relayed*/,
                                     std::string_view /*username*/) {}
  virtual void on_allocation_deleted(const FiveTuple&, std::string_view /*reason*/) {}
  virtual void on_auth_failure(const FiveTuple&, AuthFailure) {}
  virtual void on_peer_denied(const FiveTuple&, const SocketAddress& /*peer*/) {}
  virtual void on_dropped(const FiveTuple&, std::string_view /*why*/) {}
};

}  // namespace turnpike::turn
