#include "turnpike/policy/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace turnpike::policy {
namespace {
// Negative or NaN settings mean "nothing": the comparison is false for NaN.
double non_negative(double v) noexcept { return v > 0 ? v : 0; }
uint64_t scaled(double v, double scale) noexcept {
  const double s = std::round(non_negative(v) * scale);
  return s >= 1.8e19 ? UINT64_MAX / 1000 : static_cast<uint64_t>(s);
}
}  // namespace

uint64_t RateBucket::available_milli(Millis now, uint64_t rate_per_s,
                                     uint64_t burst) const noexcept {
  const uint64_t capacity = burst * 1000;
  if (!started_) return capacity;
  uint64_t milli = std::min(milli_, capacity);
  if (now > last_ && rate_per_s > 0) {
    // `rate_per_s` units per second are `rate_per_s` thousandths per millisecond.
    const auto elapsed = static_cast<uint64_t>(now - last_);
    const uint64_t room = capacity - milli;
    milli = elapsed >= room / rate_per_s + 1 ? capacity : milli + elapsed * rate_per_s;
  }
  return std::min(milli, capacity);
}

bool RateBucket::try_take(uint64_t cost, Millis now, uint64_t rate_per_s, uint64_t burst) noexcept {
  milli_ = available_milli(now, rate_per_s, burst);
  if (!started_ || now > last_) last_ = now;
  started_ = true;
  const uint64_t need = cost * 1000;
  if (milli_ < need) return false;
  milli_ -= need;
  return true;
}

void RateBucket::give_back(uint64_t cost, Millis now, uint64_t rate_per_s,
                           uint64_t burst) noexcept {
  if (!started_) return;  // a new bucket is full
  milli_ = std::min(available_milli(now, rate_per_s, burst) + cost * 1000, burst * 1000);
  if (now > last_) last_ = now;
}

TokenBucket::TokenBucket(double rate_per_s, double burst) noexcept
    : rate_(scaled(rate_per_s, kScale)), burst_(scaled(burst, kScale)) {
  if (burst_ > UINT64_MAX / 1000) burst_ = UINT64_MAX / 1000;
}

bool TokenBucket::try_take(Millis now) noexcept {
  if (bucket_.try_take(static_cast<uint64_t>(kScale), now, rate_, burst_)) return true;
  ++suppressed_;
  return false;
}

uint64_t TokenBucket::take_suppressed() noexcept { return std::exchange(suppressed_, 0); }

}  // namespace turnpike::policy
