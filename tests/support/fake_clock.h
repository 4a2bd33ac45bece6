// A hand-driven clock for core tests: a turnpike::Now that only moves when the test says so.
#pragma once

#include <cstdint>

#include "turnpike/util/time.h"

namespace turnpike::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Now start = Now{1'000'000, 1'700'000'000}) : now_(start) {}

  [[nodiscard]] Now now() const override { return now_; }
  // Moves both clocks forward (the Unix clock in whole seconds elapsed on the monotonic one).
  void advance_ms(Millis ms) {
    const int64_t before_s = now_.mono_ms / 1000;
    now_.mono_ms += ms;
    now_.unix_s += now_.mono_ms / 1000 - before_s;
  }
  void advance_s(int64_t s) { advance_ms(s * 1000); }

 private:
  Now now_;
};

}  // namespace turnpike::testing
