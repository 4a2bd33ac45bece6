// A turn::RelayAllocator and turn::ReservationRegistry without sockets: ports come from a counter
// (from 50000), EVEN-PORT and specific ports (RESERVATION-TOKEN) are honoured, held ports and their
// tokens are tracked, and `capacity` caps the number of relays open at once (open() then fails,
// which the server must answer with 508). Its open relays are the live ports it reports.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "turnpike/turn/interfaces.h"

namespace turnpike::testing {

class FakeRelays final : public turn::RelayAllocator,
                         public turn::ReservationRegistry,
                         public turn::RelayPortDirectory {
 public:
  struct OpenRelay {
    turn::AllocationId owner;
    SocketAddress address;
  };

  explicit FakeRelays(IpAddress ipv4 = IpAddress::v4(203, 0, 113, 7),
                      IpAddress ipv6 = *IpAddress::parse("2a01:4f8::7"))
      : ipv4_(ipv4), ipv6_(ipv6) {}

  std::optional<SocketAddress> open(turn::AllocationId owner,
                                    const turn::RelayRequest& request) override {
    open_calls.push_back(request);
    if (open_relays.size() >= capacity) return std::nullopt;
    const Family family = request.family;
    uint16_t port = 0;
    if (request.port != 0) {
      // Like the real pool: a held (reserved) port can be taken by the RESERVATION-TOKEN request.
      if (in_use(family, request.port)) return std::nullopt;
      reserved.erase({family, request.port});
      port = request.port;
    } else {
      uint32_t p = next_port;
      const auto taken = [&](uint32_t q) {
        return q > 0xFFFF || in_use(family, static_cast<uint16_t>(q)) ||
               is_reserved(family, static_cast<uint16_t>(q));
      };
      while (p <= 0xFFFF && (taken(p) || (request.even_port && p % 2 != 0) ||
                             (request.reserve_next && taken(p + 1)))) {
        ++p;
      }
      if (p > 0xFFFF) return std::nullopt;
      if (request.reserve_next) reserved.insert({family, static_cast<uint16_t>(p + 1)});
      port = static_cast<uint16_t>(p);
      next_port = static_cast<uint16_t>(p + 1);
    }
    SocketAddress address{family == Family::kIPv4 ? ipv4_ : ipv6_, port};
    open_relays.push_back({owner, address});
    return address;
  }

  void close(turn::AllocationId owner) override {
    close_calls.push_back(owner);
    std::erase_if(open_relays, [&](const OpenRelay& r) { return r.owner == owner; });
  }

  // turn::ReservationRegistry
  void hold(uint64_t token, const turn::Reservation& r) override { tokens[token] = r; }
  std::optional<turn::Reservation> take(uint64_t token) override {
    const auto it = tokens.find(token);
    if (it == tokens.end()) return std::nullopt;
    const turn::Reservation out = it->second;
    tokens.erase(it);
    return out;
  }
  void release(uint64_t token, const turn::Reservation& r) override {
    released.push_back({r.family, r.port});
    reserved.erase({r.family, r.port});  // a redeemed port is in use, not reserved: untouched
    tokens.erase(token);
  }

  // turn::RelayPortDirectory: this fake's open relays only (see LiveRelayPorts for several).
  [[nodiscard]] bool relay_port_live(Family family, uint16_t port) const noexcept override {
    return in_use(family, port);
  }

  [[nodiscard]] bool is_reserved(Family family, uint16_t port) const {
    return reserved.contains({family, port});
  }
  [[nodiscard]] bool in_use(Family family, uint16_t port) const {
    for (const OpenRelay& r : open_relays) {
      if (r.address.family() == family && r.address.port == port) return true;
    }
    return false;
  }
  // The allocation that owns the relay bound to `port` (of `family`), if any.
  [[nodiscard]] std::optional<turn::AllocationId> owner_of_port(
      uint16_t port, Family family = Family::kIPv4) const {
    for (const OpenRelay& r : open_relays) {
      if (r.address.family() == family && r.address.port == port) return r.owner;
    }
    return std::nullopt;
  }
  [[nodiscard]] bool was_closed(turn::AllocationId owner) const {
    for (const turn::AllocationId& id : close_calls) {
      if (id == owner) return true;
    }
    return false;
  }

  size_t capacity = std::numeric_limits<size_t>::max();
  uint16_t next_port = 50000;
  std::vector<turn::RelayRequest> open_calls;
  std::vector<turn::AllocationId> close_calls;
  std::vector<OpenRelay> open_relays;
  std::set<std::pair<Family, uint16_t>> reserved;  // held ports (EVEN-PORT R=1)
  std::map<uint64_t, turn::Reservation> tokens;    // the registry: token -> held port
  std::vector<std::pair<Family, uint16_t>> released;

 private:
  IpAddress ipv4_;
  IpAddress ipv6_;
};

}  // namespace turnpike::testing
