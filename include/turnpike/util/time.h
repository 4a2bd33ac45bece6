// Time as the core sees it: always passed in, never read. The transport reads the clocks.
#pragma once

#include <cstdint>

namespace turnpike {

// Milliseconds on a monotonic clock (any epoch). Lifetimes, nonce ages and timers use this.
using Millis = int64_t;

// One instant as seen by the core: a monotonic reading for lifetimes and the Unix time in
// seconds for things defined in wall-clock terms (TURN REST usernames carry a Unix expiry).
struct Now {
  Millis mono_ms = 0;
  int64_t unix_s = 0;
};

// An injectable clock. The daemon uses a real one (net/), tests a fake one.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual Now now() const = 0;
};

}  // namespace turnpike
