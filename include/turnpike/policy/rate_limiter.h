// Token bucket, keyed by nothing: the caller owns one per thing it limits. Time is passed in.
#pragma once

#include <cstdint>

#include "turnpike/util/time.h"

namespace turnpike::policy {

class TokenBucket {
 public:
  // `rate_per_s` tokens are added per second up to `burst`; the bucket starts full.
  TokenBucket(double rate_per_s, double burst) noexcept;
  // Takes one token if available.
  bool try_take(Millis now) noexcept;
  // Tokens refused since the last call (for "N messages suppressed" log lines); resets to 0.
  uint64_t take_suppressed() noexcept;

 private:
  double rate_per_ms_;
  double burst_;
  double tokens_;
  Millis last_ = 0;
  bool started_ = false;
  uint64_t suppressed_ = 0;
};

}  // namespace turnpike::policy
