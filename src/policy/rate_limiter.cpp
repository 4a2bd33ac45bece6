#include "turnpike/policy/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace turnpike::policy {
namespace {
// Negative or NaN settings mean "nothing": the comparison is false for NaN.
double non_negative(double v) noexcept { return v > 0 ? v : 0; }
}  // namespace

TokenBucket::TokenBucket(double rate_per_s, double burst) noexcept
    : rate_per_ms_(non_negative(rate_per_s) / 1000.0),
      burst_(non_negative(burst)),
      tokens_(burst_) {}

bool TokenBucket::try_take(Millis now) noexcept {
  if (!started_) {
    started_ = true;
    last_ = now;
  } else if (now > last_) {
    // Elapsed time as double: exact for any realistic gap, and no integer overflow.
    const double elapsed = static_cast<double>(now) - static_cast<double>(last_);
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_per_ms_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  ++suppressed_;
  return false;
}

uint64_t TokenBucket::take_suppressed() noexcept { return std::exchange(suppressed_, 0); }

}  // namespace turnpike::policy
