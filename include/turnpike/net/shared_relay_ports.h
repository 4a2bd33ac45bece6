// The relay port range and the reservation registry, shared by every worker of one daemon. Only
// Allocate, close and reservations touch it (under a mutex): never the packet path.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "turnpike/turn/relay_port_pool.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::net {

class SharedRelayPorts {
 public:
  SharedRelayPorts(uint16_t min_port, uint16_t max_port, uint64_t seed)
      : pool_(min_port, max_port, seed) {}

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
  // A reservation that expired unredeemed: free the port, forget its token.
  void release_reservation(uint16_t port) {
    std::lock_guard lock(mutex_);
    pool_.release_if_reserved(port);
    std::erase_if(tokens_, [port](const auto& entry) { return entry.second.second == port; });
  }
  void share(uint64_t token, Family family, uint16_t port) {
    std::lock_guard lock(mutex_);
    tokens_[token] = {family, port};
  }
  std::optional<std::pair<Family, uint16_t>> take(uint64_t token) {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(token);
    if (it == tokens_.end()) return std::nullopt;
    const auto out = it->second;
    tokens_.erase(it);
    return out;
  }
  [[nodiscard]] size_t free_count() const {
    std::lock_guard lock(mutex_);
    return pool_.free_count();
  }

 private:
  mutable std::mutex mutex_;
  turn::RelayPortPool pool_;
  std::unordered_map<uint64_t, std::pair<Family, uint16_t>> tokens_;  // at most one per allocation
};

}  // namespace turnpike::net
