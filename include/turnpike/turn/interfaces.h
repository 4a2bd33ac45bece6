// What turn::Server needs from the world, as narrow interfaces the transport implements (and tests
// fake): an outbox for bytes to send, a relay allocator for relay sockets, the registry of
// reservation tokens, the server-wide allocation quotas, and an observer for events worth counting
// or logging. The server never touches a socket or a log.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "turnpike/auth/auth_failure.h"
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
// and port + 1 is held (not handed out) until the ReservationRegistry releases it or a
// RESERVATION-TOKEN request opens it (RelayRequest::port).
class RelayAllocator {
 public:
  virtual ~RelayAllocator() = default;
  virtual std::optional<SocketAddress> open(AllocationId owner, const RelayRequest& request) = 0;
  virtual void close(AllocationId owner) = 0;
};

// A relay port held by EVEN-PORT with R=1 (RFC 8656 §7.2), named by its RESERVATION-TOKEN.
struct Reservation {
  Family family = Family::kIPv4;
  uint16_t port = 0;
};

// The RESERVATION-TOKEN registry (RFC 8656 §7.2 step 5, §18.9): token -> held port. With several
// workers it is shared by all of them (the second Allocate of a pair may reach another worker), so
// it is the one place that says whether a token is still good; it is called on Allocate and
// expiry only, never on the packet path. The port itself is held by the RelayAllocator.
class ReservationRegistry {
 public:
  virtual ~ReservationRegistry() = default;
  // Registers `token` for a held port (after RelayAllocator::open with reserve_next), or puts back
  // one that take() returned when the Allocate that redeemed it failed before opening the relay.
  virtual void hold(uint64_t token, const Reservation& reservation) = 0;
  // Redeems `token`: its reservation, removed from the registry. nullopt: unknown, already
  // redeemed, or released.
  virtual std::optional<Reservation> take(uint64_t token) = 0;
  // The holder's reservation ended (timed out, or its allocation died): forgets `token` and frees
  // the held port, unless the port was redeemed meanwhile (then it is in use and stays so).
  virtual void release(uint64_t token, const Reservation& reservation) = 0;
};

// Which relay ports have a live allocation right now, on any worker of this server (the relay port
// range is shared). Asked on the packet path when a peer is one of our own addresses: only a port
// an allocation holds is reachable there (a fellow client), never another service of the host.
// Must be cheap and lock-free.
class RelayPortDirectory {
 public:
  virtual ~RelayPortDirectory() = default;
  [[nodiscard]] virtual bool relay_port_live(Family family, uint16_t port) const noexcept = 0;
};

// The allocation quotas of the whole server (RFC 8656 §7.2 step 9 and "at any point": 486 per
// user or label, 508 in total): config allocation.max_per_user, max_per_label, max_total. With
// several workers one object counts for all of them, so the limits hold server-wide. It is called
// when an allocation is set up and when it goes away, never on the packet path. `label` is the
// application part of the username (auth::CredentialStore::label_of).
class AllocationQuota {
 public:
  enum class Verdict : uint8_t { kAdmitted, kUserLimit, kLabelLimit, kTotalLimit };
  virtual ~AllocationQuota() = default;
  // Counts one more allocation of `user` (and `label`) unless a limit is reached; then nothing is
  // counted and the verdict names the first limit hit (user, label, total).
  virtual Verdict try_admit(std::string_view user, std::string_view label) = 0;
  // Forgets one allocation counted by try_admit.
  virtual void release(std::string_view user, std::string_view label) = 0;
};

// Why a request failed authentication (the enum lives with the authenticator, auth/).
using AuthFailure = auth::AuthFailure;
using auth::to_string;

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
