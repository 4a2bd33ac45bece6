#include "turnpike/policy/ip_limits.h"

#include <algorithm>
#include <bit>

#include "turnpike/policy/peer_filter.h"

namespace turnpike::policy {
namespace {

uint64_t mix(uint64_t z) noexcept {  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t source_key(const IpAddress& address) noexcept {
  const IpAddress ip = PeerFilter::canonical(address);
  uint64_t key = 0;
  if (ip.family == Family::kIPv4) {
    // ffff:ffff::/32 is multicast space, never a unicast /64: no IPv6 key can look like this.
    key = 0xFFFF'FFFF'0000'0000ULL;
    for (size_t i = 0; i < 4; ++i) key |= uint64_t{ip.bytes[i]} << (24 - 8 * i);
    return key;
  }
  for (size_t i = 0; i < 8; ++i) key = (key << 8) | ip.bytes[i];  // the /64 prefix
  return key;
}

IpRateLimiter::IpRateLimiter(uint32_t rate_per_s, uint32_t burst, size_t slots, uint64_t seed)
    : seed_(seed), rate_(rate_per_s), burst_(std::max<uint32_t>(burst, 1)) {
  if (rate_ == 0) return;  // disabled: no table at all
  slots_.resize(std::bit_ceil(std::max<size_t>(slots, 64)));
  mask_ = slots_.size() - 1;
}

bool IpRateLimiter::allow(const IpAddress& ip, Millis now) noexcept {
  if (rate_ == 0) return true;
  const uint64_t key = source_key(ip);
  const size_t start = static_cast<size_t>(mix(key ^ seed_));
  Slot* free_slot = nullptr;
  Slot* oldest = nullptr;
  for (size_t i = 0; i < kProbe; ++i) {
    Slot& s = slots_[(start + i) & mask_];
    if (!s.used) {
      if (free_slot == nullptr) free_slot = &s;
      continue;
    }
    if (s.key == key) {
      s.last_seen = std::max(s.last_seen, now);
      return s.bucket.try_take(1, now, rate_, burst_);
    }
    if (oldest == nullptr || better_victim(s, *oldest, now)) oldest = &s;
  }
  Slot* slot = free_slot;
  if (slot == nullptr) {
    slot = oldest;  // kProbe > 0, so one of the two is set
    ++evictions_;
  } else {
    ++used_;
  }
  *slot = Slot{key, now, RateBucket{}, true};
  return slot->bucket.try_take(1, now, rate_, burst_);
}

void IpRateLimiter::refund(const IpAddress& ip, Millis now) noexcept {
  if (rate_ == 0) return;
  const uint64_t key = source_key(ip);
  const size_t start = static_cast<size_t>(mix(key ^ seed_));
  for (size_t i = 0; i < kProbe; ++i) {
    Slot& s = slots_[(start + i) & mask_];
    if (s.used && s.key == key) {
      s.bucket.give_back(1, now, rate_, burst_);
      return;
    }
  }
}

bool IpRateLimiter::better_victim(const Slot& a, const Slot& b, Millis now) const noexcept {
  const uint64_t left_a = a.bucket.available_milli(now, rate_, burst_);
  const uint64_t left_b = b.bucket.available_milli(now, rate_, burst_);
  if (left_a != left_b) return left_a > left_b;
  return a.last_seen < b.last_seen;
}

ConnectionCounter::Verdict ConnectionCounter::try_add(const std::optional<IpAddress>& source) {
  if (max_total_ != 0 && total_ >= max_total_) return Verdict::kTotalLimit;
  if (source && !attach(*source)) return Verdict::kPerIpLimit;
  ++total_;
  return Verdict::kAccepted;
}

bool ConnectionCounter::attach(const IpAddress& source) {
  const auto [it, inserted] = per_source_.try_emplace(source_key(source), 0);
  if (max_per_ip_ != 0 && it->second >= max_per_ip_) return false;
  ++it->second;
  return true;
}

void ConnectionCounter::remove(const std::optional<IpAddress>& source) noexcept {
  if (total_ > 0) --total_;
  if (!source) return;
  const auto it = per_source_.find(source_key(*source));
  if (it == per_source_.end()) return;
  if (--it->second == 0) per_source_.erase(it);
}

uint32_t ConnectionCounter::count_for(const IpAddress& ip) const noexcept {
  const auto it = per_source_.find(source_key(ip));
  return it == per_source_.end() ? 0 : it->second;
}

}  // namespace turnpike::policy
