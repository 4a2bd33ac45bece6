#include "turnpike/turn/allocation_quota.h"

namespace turnpike::turn {

AllocationQuota::Verdict QuotaCounter::try_admit(std::string_view user, std::string_view label) {
  // The order of the checks decides the answer when several limits are reached at once: the
  // user's own quota first (486 tells that client to stop), then the label's, then the server's.
  if (count_in(users_, user) >= limits_.max_per_user) return Verdict::kUserLimit;
  if (limits_.max_per_label != 0 && count_in(labels_, label) >= limits_.max_per_label) {
    return Verdict::kLabelLimit;
  }
  if (total_ >= limits_.max_total) return Verdict::kTotalLimit;
  ++total_;
  ++users_[std::string(user)];
  ++labels_[std::string(label)];
  return Verdict::kAdmitted;
}

void QuotaCounter::release(std::string_view user, std::string_view label) {
  if (total_ == 0) return;
  --total_;
  decrement(users_, user);
  decrement(labels_, label);
}

uint32_t QuotaCounter::count_for_user(std::string_view user) const noexcept {
  return count_in(users_, user);
}

uint32_t QuotaCounter::count_for_label(std::string_view label) const noexcept {
  return count_in(labels_, label);
}

uint32_t QuotaCounter::count_in(const Counts& counts, std::string_view key) noexcept {
  const auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

void QuotaCounter::decrement(Counts& counts, std::string_view key) noexcept {
  const auto it = counts.find(key);
  if (it == counts.end()) return;
  if (--it->second == 0) counts.erase(it);
}

}  // namespace turnpike::turn
