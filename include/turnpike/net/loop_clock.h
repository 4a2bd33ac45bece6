// The one place the transport reads clocks for the core: the loop's cached monotonic time (for
// lifetimes and timers) and the wall clock's seconds (for TURN REST username expiry).
#pragma once

#include <uv.h>

#include <chrono>

#include "turnpike/util/time.h"

namespace turnpike::net {

inline Now loop_now(const uv_loop_t* loop) noexcept {
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  return Now{static_cast<Millis>(uv_now(loop)),
             std::chrono::duration_cast<std::chrono::seconds>(wall).count()};
}

}  // namespace turnpike::net
