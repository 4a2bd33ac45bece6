// The relay port range and the RESERVATION-TOKEN registry (RFC 8656 §7.2, EVEN-PORT with R=1),
// shared by every worker of one daemon: the second Allocate of a pair may reach another worker
// and still redeem its token. Only Allocate, close and reservations touch it (under a mutex):
// never the packet path.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "turnpike/turn/interfaces.h"
#include "turnpike/turn/relay_port_pool.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::net {

class SharedRelayPorts final : public turn::ReservationRegistry {
 public:
  SharedRelayPorts(uint16_t min_port, uint16_t max_port) : pool_(min_port, max_port) {}

  std::optional<uint16_t> acquire(bool even) {
    std::lock_guard lock(mutex_);
    return pool_.acquire(even);
  }
  std::optional<uint16_t> acquire_pair() {
    std::lock_guard lock(mutex_);
    return pool_.acquire_pair();
  }
  bool acquire_specific(uint16_t port) {
    std::lock_guard lock(mutex_);
    return pool_.acquire_specific(port);
  }
  void release(uint16_t port) {
    std::lock_guard lock(mutex_);
    pool_.release(port);
  }
  // turn::ReservationRegistry
  void hold(uint64_t token, const turn::Reservation& reservation) override {
    std::lock_guard lock(mutex_);
    tokens_[token] = reservation;
  }
  std::optional<turn::Reservation> take(uint64_t token) override {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(token);
    if (it == tokens_.end()) return std::nullopt;
    const turn::Reservation out = it->second;
    tokens_.erase(it);
    return out;
  }
  // A reservation that ended unredeemed: free the port (unless it was redeemed meanwhile), forget
  // its token.
  void release(uint64_t token, const turn::Reservation& reservation) override {
    std::lock_guard lock(mutex_);
    pool_.release_if_reserved(reservation.port);
    tokens_.erase(token);
  }
  [[nodiscard]] size_t free_count() const {
    std::lock_guard lock(mutex_);
    return pool_.free_count();
  }

 private:
  mutable std::mutex mutex_;
  turn::RelayPortPool pool_;
  std::unordered_map<uint64_t, turn::Reservation> tokens_;  // at most one per allocation
};

}  // namespace turnpike::net
