// The allocation counts behind turn::AllocationQuota: in total, per USERNAME and per label (the
// application part of a TURN REST username). Plain bookkeeping, not thread-safe: the transport
// shares one between its workers behind a mutex (net::SharedAllocationQuota), tests use it as is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "turnpike/turn/interfaces.h"
#include "turnpike/turn/server_config.h"

namespace turnpike::turn {

struct QuotaLimits {
  uint32_t max_total = 10'000;  // allocation.max_total (508)
  uint32_t max_per_user = 100;  // allocation.max_per_user (486)
  uint32_t max_per_label = 0;   // allocation.max_per_label (486); 0 = no limit of its own
};

inline QuotaLimits quota_limits(const ServerConfig& c) noexcept {
  return {c.max_allocations, c.max_allocations_per_user, c.max_allocations_per_label};
}

class QuotaCounter final : public AllocationQuota {
 public:
  explicit QuotaCounter(QuotaLimits limits) noexcept : limits_(limits) {}

  Verdict try_admit(std::string_view user, std::string_view label) override;
  void release(std::string_view user, std::string_view label) override;

  [[nodiscard]] size_t total() const noexcept { return total_; }
  [[nodiscard]] uint32_t count_for_user(std::string_view user) const noexcept;
  [[nodiscard]] uint32_t count_for_label(std::string_view label) const noexcept;
  // Entries held (users + labels with at least one allocation): bounded by 2 * total().
  [[nodiscard]] size_t entries() const noexcept { return users_.size() + labels_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Counts = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;
  static uint32_t count_in(const Counts& counts, std::string_view key) noexcept;
  static void decrement(Counts& counts, std::string_view key) noexcept;

  QuotaLimits limits_;
  size_t total_ = 0;
  Counts users_;   // entries at 0 are erased
  Counts labels_;  // entries at 0 are erased
};

}  // namespace turnpike::turn
