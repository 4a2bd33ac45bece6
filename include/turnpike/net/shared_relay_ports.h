// The relay port range and the RESERVATION-TOKEN registry (RFC 8656 §7.2, EVEN-PORT with R=1),
// shared by every worker of one daemon: the second Allocate of a pair may reach another worker
// and still redeem its token. Only Allocate, close and reservations touch it (under a mutex):
// never the packet path. It also says which ports a live allocation's socket is bound to
// (turn::RelayPortDirectory): one atomic bit per port and family, read without a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "turnpike/turn/interfaces.h"
#include "turnpike/turn/relay_port_pool.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::net {

class SharedRelayPorts final : public turn::ReservationRegistry, public turn::RelayPortDirectory {
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
  // A relay socket of `family` is bound to `port` (live) or is closing (not live).
  void set_live(Family family, uint16_t port, bool live) noexcept {
    const uint64_t bit = uint64_t{1} << (port % 64U);
    std::atomic<uint64_t>& word = live_[family == Family::kIPv4 ? 0U : 1U][port / 64U];
    if (live) {
      word.fetch_or(bit, std::memory_order_release);
    } else {
      word.fetch_and(~bit, std::memory_order_release);
    }
  }
  // turn::RelayPortDirectory
  [[nodiscard]] bool relay_port_live(Family family, uint16_t port) const noexcept override {
    const uint64_t word =
        live_[family == Family::kIPv4 ? 0U : 1U][port / 64U].load(std::memory_order_acquire);
    return ((word >> (port % 64U)) & 1U) != 0;
  }
  [[nodiscard]] size_t free_count() const {
    std::lock_guard lock(mutex_);
    return pool_.free_count();
  }

 private:
  mutable std::mutex mutex_;
  turn::RelayPortPool pool_;
  std::unordered_map<uint64_t, turn::Reservation> tokens_;         // at most one per allocation
  std::array<std::array<std::atomic<uint64_t>, 1024>, 2> live_{};  // [IPv4, IPv6][port / 64]
};

}  // namespace turnpike::net
