// The allocation quotas (config allocation.max_total, max_per_user, max_per_label) shared by every
// worker of one daemon: an allocation made by any worker counts against the same limits, so a
// client cannot get `workers` times its quota by spreading over source ports. Touched when an
// allocation is set up or goes away (under a mutex), never on the packet path.
#pragma once

#include <cstddef>
#include <mutex>
#include <string_view>

#include "turnpike/turn/allocation_quota.h"

namespace turnpike::net {

class SharedAllocationQuota final : public turn::AllocationQuota {
 public:
  explicit SharedAllocationQuota(turn::QuotaLimits limits) : counter_(limits) {}

  Verdict try_admit(std::string_view user, std::string_view label) override {
    std::lock_guard lock(mutex_);
    return counter_.try_admit(user, label);
  }
  void release(std::string_view user, std::string_view label) override {
    std::lock_guard lock(mutex_);
    counter_.release(user, label);
  }
  [[nodiscard]] size_t total() const {
    std::lock_guard lock(mutex_);
    return counter_.total();
  }

 private:
  mutable std::mutex mutex_;
  turn::QuotaCounter counter_;
};

}  // namespace turnpike::net
