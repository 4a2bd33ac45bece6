// A turn::AllocationQuota for core tests: the real counts (turn::QuotaCounter), plus a record of
// the calls. Two harnesses given the same FakeQuota are two workers of one daemon.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "turnpike/turn/allocation_quota.h"

namespace turnpike::testing {

class FakeQuota final : public turn::AllocationQuota {
 public:
  explicit FakeQuota(turn::QuotaLimits limits) : counter_(limits) {}

  Verdict try_admit(std::string_view user, std::string_view label) override {
    const Verdict v = counter_.try_admit(user, label);
    admits.push_back({std::string(user), std::string(label)});
    if (v != Verdict::kAdmitted) ++refused;
    return v;
  }
  void release(std::string_view user, std::string_view label) override {
    releases.push_back({std::string(user), std::string(label)});
    counter_.release(user, label);
  }

  [[nodiscard]] size_t total() const noexcept { return counter_.total(); }
  [[nodiscard]] uint32_t count_for_label(std::string_view label) const noexcept {
    return counter_.count_for_label(label);
  }

  std::vector<std::pair<std::string, std::string>> admits;    // (user, label) asked
  std::vector<std::pair<std::string, std::string>> releases;  // (user, label) released
  size_t refused = 0;

 private:
  turn::QuotaCounter counter_;
};

}  // namespace turnpike::testing
