// TCP/TLS connection limits (config limits.max_connections, limits.max_connections_per_ip), shared
// by every worker of one daemon: a connection accepted by any worker counts against the same
// totals. Touched on accept, on a PROXY header and on close (under a mutex), never per packet.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "turnpike/policy/ip_limits.h"

namespace turnpike::net {

class SharedConnectionLimits {
 public:
  using Verdict = policy::ConnectionCounter::Verdict;

  SharedConnectionLimits(uint32_t max_total, uint32_t max_per_ip)
      : counter_(max_total, max_per_ip) {}

  Verdict try_add(const std::optional<IpAddress>& source) {
    std::lock_guard lock(mutex_);
    return counter_.try_add(source);
  }
  bool attach(const IpAddress& source) {
    std::lock_guard lock(mutex_);
    return counter_.attach(source);
  }
  void remove(const std::optional<IpAddress>& source) {
    std::lock_guard lock(mutex_);
    counter_.remove(source);
  }
  [[nodiscard]] size_t total() const {
    std::lock_guard lock(mutex_);
    return counter_.total();
  }

 private:
  mutable std::mutex mutex_;
  policy::ConnectionCounter counter_;
};

}  // namespace turnpike::net
