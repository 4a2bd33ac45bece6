// Abuse limits keyed by source address, with integer math and the caller's clock (no wall clock,
// no allocation per packet):
//   IpRateLimiter      one RateBucket per source address in a fixed-size open-addressing table
//                      (unauthenticated STUN requests): it never grows, whatever the traffic;
//   ConnectionCounter  open TCP/TLS connections, in total and per source address.
// IPv4-mapped / compatible / NAT64 forms count as the IPv4 address they carry, and IPv6 sources
// are counted per /64 (one subscriber's prefix: a host can pick any address inside it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "turnpike/policy/rate_limiter.h"
#include "turnpike/util/socket_address.h"
#include "turnpike/util/time.h"

namespace turnpike::policy {

// The key a source address is limited under: the IPv4 address, or the IPv6 /64 prefix.
uint64_t source_key(const IpAddress& ip) noexcept;

class IpRateLimiter {
 public:
  // rate_per_s == 0 disables the limiter (allow() is always true). `slots` is rounded up to a
  // power of two (at least 64); `seed` keys the hash so colliding addresses cannot be precomputed.
  IpRateLimiter(uint32_t rate_per_s, uint32_t burst, size_t slots, uint64_t seed);

  // Takes one token from the bucket of `ip`'s source key. When the table is full around that key,
  // the nearby entry with the most tokens left is forgotten (the least recently seen among equals):
  // an entry with a full bucket says nothing, while a source being limited keeps its entry even
  // under a spray of new addresses.
  bool allow(const IpAddress& ip, Millis now) noexcept;
  // Gives back the token allow() took for `ip` (if its entry is still there): the request it paid
  // for turned out to be authenticated.
  void refund(const IpAddress& ip, Millis now) noexcept;

  [[nodiscard]] bool enabled() const noexcept { return rate_ > 0; }
  [[nodiscard]] size_t capacity() const noexcept { return slots_.size(); }
  [[nodiscard]] size_t size() const noexcept { return used_; }
  [[nodiscard]] uint64_t evictions() const noexcept { return evictions_; }

 private:
  static constexpr size_t kProbe = 8;  // slots looked at per lookup
  struct Slot {
    uint64_t key = 0;
    Millis last_seen = 0;
    RateBucket bucket;
    bool used = false;
  };
  [[nodiscard]] bool better_victim(const Slot& a, const Slot& b, Millis now) const noexcept;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  uint64_t seed_;
  uint32_t rate_;
  uint32_t burst_;
  size_t used_ = 0;
  uint64_t evictions_ = 0;
};

// Not thread-safe: the transport wraps it in a lock (it is touched on accept and close only).
class ConnectionCounter {
 public:
  enum class Verdict : uint8_t { kAccepted, kTotalLimit, kPerIpLimit };
  // 0 = no limit for that one.
  ConnectionCounter(uint32_t max_total, uint32_t max_per_ip) noexcept
      : max_total_(max_total), max_per_ip_(max_per_ip) {}

  // Counts one more connection from `source` unless a limit is reached (then nothing is counted).
  // Without a source (a PROXY protocol listener: the real one comes later) only the total counts.
  Verdict try_add(const std::optional<IpAddress>& source);
  // A connection counted without a source learned it: the per-source limit applies now. False
  // (nothing changed) when that source is at its limit.
  bool attach(const IpAddress& source);
  // Forgets one counted connection (with the source it is counted under, if any).
  void remove(const std::optional<IpAddress>& source) noexcept;

  [[nodiscard]] size_t total() const noexcept { return total_; }
  [[nodiscard]] size_t sources() const noexcept { return per_source_.size(); }
  [[nodiscard]] uint32_t count_for(const IpAddress& ip) const noexcept;

 private:
  uint32_t max_total_;
  uint32_t max_per_ip_;
  size_t total_ = 0;
  std::unordered_map<uint64_t, uint32_t> per_source_;  // entries at 0 are erased: bounded by total
};

}  // namespace turnpike::policy
