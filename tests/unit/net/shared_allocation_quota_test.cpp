// net::SharedAllocationQuota: one count for every worker thread (allocation.max_total,
// max_per_user, max_per_label hold server-wide).
#include "turnpike/net/shared_allocation_quota.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace turnpike::net {
namespace {

using Verdict = turn::AllocationQuota::Verdict;

TEST(SharedAllocationQuota, WorkersRacingGetExactlyTheLimit) {
  SharedAllocationQuota quota(turn::QuotaLimits{1000, 5, 0});
  std::atomic<int> admitted{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (quota.try_admit("alice", "alice") == Verdict::kAdmitted) admitted.fetch_add(1);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(admitted.load(), 5);
  EXPECT_EQ(quota.total(), 5U);
}

TEST(SharedAllocationQuota, ReleaseFromAnotherThread) {
  SharedAllocationQuota quota(turn::QuotaLimits{1, 1, 1});
  ASSERT_EQ(quota.try_admit("1:app", "app"), Verdict::kAdmitted);
  EXPECT_EQ(quota.try_admit("2:app", "app"), Verdict::kLabelLimit);
  std::thread([&] { quota.release("1:app", "app"); }).join();
  EXPECT_EQ(quota.try_admit("2:app", "app"), Verdict::kAdmitted);
}

}  // namespace
}  // namespace turnpike::net
