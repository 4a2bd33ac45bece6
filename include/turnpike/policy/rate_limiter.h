// The one token-bucket type, with integer math and the caller's clock:
//   RateBucket   a bucket of a few bytes whose rate and size the caller passes in, so one lives in
//                every allocation (relay bandwidth) and in every slot of an IpRateLimiter;
//   TokenBucket  a RateBucket that keeps its own rate and burst (fractional: requests per minute)
//                and counts refusals (log lines suppressed, HTTP rate limits).
#pragma once

#include <cstdint>

#include "turnpike/util/time.h"

namespace turnpike::policy {

// A token bucket in thousandths of a unit (integer: exact, no drift). `rate_per_s` units are added
// per second up to `burst` units; a new bucket starts full.
class RateBucket {
 public:
  // Takes `cost` units when that many are available; false (nothing taken) otherwise.
  bool try_take(uint64_t cost, Millis now, uint64_t rate_per_s, uint64_t burst) noexcept;
  // Puts `cost` units back (never above `burst`): a charge that turned out not to be owed.
  void give_back(uint64_t cost, Millis now, uint64_t rate_per_s, uint64_t burst) noexcept;
  // Thousandths of a unit available at `now` (nothing is taken).
  [[nodiscard]] uint64_t available_milli(Millis now, uint64_t rate_per_s,
                                         uint64_t burst) const noexcept;

 private:
  uint64_t milli_ = 0;
  Millis last_ = 0;
  bool started_ = false;
};

class TokenBucket {
 public:
  // `rate_per_s` tokens are added per second up to `burst`; the bucket starts full. Negative or
  // NaN settings mean nothing.
  TokenBucket(double rate_per_s, double burst) noexcept;
  // Takes one token if available.
  bool try_take(Millis now) noexcept;
  // Tokens refused since the last call (for "N messages suppressed" log lines); resets to 0.
  uint64_t take_suppressed() noexcept;

 private:
  // Tokens are counted in millionths, so fractional rates (10 per minute) stay exact enough.
  static constexpr double kScale = 1e6;
  RateBucket bucket_;
  uint64_t rate_ = 0;   // millionths of a token per second
  uint64_t burst_ = 0;  // millionths of a token
  uint64_t suppressed_ = 0;
};

}  // namespace turnpike::policy
