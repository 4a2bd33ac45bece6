// turn::Server with the server-wide allocation quotas (turn::AllocationQuota): max_per_user,
// max_per_label and max_total hold across workers (two servers sharing one quota), every admitted
// allocation is released exactly once, and the counts themselves (turn::QuotaCounter).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/test_client.h"
#include "turnpike/auth/rest_credentials.h"
#include "turnpike/turn/allocation_quota.h"

namespace turnpike::testing {
namespace {

namespace err = stun::error;
using Verdict = turn::AllocationQuota::Verdict;

turn::QuotaLimits limits(uint32_t total, uint32_t per_user, uint32_t per_label) {
  return turn::QuotaLimits{total, per_user, per_label};
}

// Two workers of one daemon: each its own server, table and relays; one quota.
struct TwoWorkers {
  explicit TwoWorkers(turn::QuotaLimits l) : quota(l) {
    HarnessOptions o;
    o.quota = &quota;
    first = std::make_unique<Harness>(o);
    second = std::make_unique<Harness>(o);
  }
  FakeQuota quota;
  std::unique_ptr<Harness> first;
  std::unique_ptr<Harness> second;
};

TEST(Quota, PerUserHoldsAcrossWorkers) {
  TwoWorkers w(limits(100, 1, 0));
  TestClient a(*w.first, udp_tuple("198.51.100.10:40001"));
  TestClient b(*w.second, udp_tuple("198.51.100.10:40002"));
  ASSERT_TRUE(a.allocate().is_success());
  // Before: each worker counted its own table, so alice got one allocation per worker.
  EXPECT_TRUE(b.allocate().is_error(err::kAllocationQuotaReached));
  EXPECT_EQ(w.first->server.allocation_count() + w.second->server.allocation_count(), 1U);
  // When the first one goes, the quota is free again on the other worker.
  ASSERT_TRUE(a.refresh(0).is_success());
  EXPECT_TRUE(b.allocate().is_success());
}

TEST(Quota, TotalHoldsAcrossWorkers) {
  TwoWorkers w(limits(1, 100, 0));
  TestClient alice(*w.first, udp_tuple("198.51.100.10:40001"));
  TestClient bob(*w.second, udp_tuple("198.51.100.11:40001"), std::string(kBob),
                 std::string(kBobPassword));
  ASSERT_TRUE(alice.allocate().is_success());
  EXPECT_TRUE(bob.allocate().is_error(err::kInsufficientCapacity));
}

TEST(Quota, PerLabelCountsEveryCredentialMintedForOneLabel) {
  TwoWorkers w(limits(100, 100, 2));
  const int64_t now = w.first->now().unix_s;
  std::vector<std::unique_ptr<TestClient>> clients;
  const auto client = [&](Harness& h, int port, std::string_view label, int64_t expiry) {
    const auto cred = auth::mint_rest_credential(kRestSecretOne, label, expiry);
    clients.push_back(std::make_unique<TestClient>(
        h, udp_tuple("198.51.100.10:" + std::to_string(port)), cred.username, cred.password));
    return clients.back()->allocate();
  };
  // Three distinct usernames (three expiries) of one app label, over two workers.
  EXPECT_TRUE(client(*w.first, 40001, "app-one", now + 3600).is_success());
  EXPECT_TRUE(client(*w.second, 40002, "app-one", now + 3601).is_success());
  EXPECT_TRUE(
      client(*w.first, 40003, "app-one", now + 3602).is_error(err::kAllocationQuotaReached));
  EXPECT_TRUE(client(*w.second, 40004, "app-two", now + 3600).is_success());
  EXPECT_EQ(w.quota.count_for_label("app-one"), 2U);
  EXPECT_EQ(w.quota.count_for_label("app-two"), 1U);
}

TEST(Quota, StaticUsersAreTheirOwnLabel) {
  HarnessOptions o;
  o.config.max_allocations_per_label = 1;
  Harness h(o);
  TestClient alice(h, udp_tuple("198.51.100.10:40001"));
  TestClient alice2(h, udp_tuple("198.51.100.10:40002"));
  TestClient bob(h, udp_tuple("198.51.100.10:40003"), std::string(kBob), std::string(kBobPassword));
  ASSERT_TRUE(alice.allocate().is_success());
  EXPECT_TRUE(alice2.allocate().is_error(err::kAllocationQuotaReached));
  EXPECT_TRUE(bob.allocate().is_success());
}

TEST(Quota, EveryAdmittedAllocationIsReleasedOnce) {
  Harness h;
  auto& quota = static_cast<FakeQuota&>(h.quota);
  TestClient deleted(h, udp_tuple("198.51.100.10:40001"));
  TestClient expired(h, udp_tuple("198.51.100.10:40002"));
  ASSERT_TRUE(deleted.allocate().is_success());
  ASSERT_TRUE(expired.allocate_with_lifetime(600).is_success());
  ASSERT_TRUE(deleted.refresh(0).is_success());  // deleted by the client
  h.advance_s(3700);
  h.tick();  // expired
  // A relay that cannot be opened: admitted, then released at once (508).
  h.relays.capacity = 0;
  TestClient refused(h, udp_tuple("198.51.100.10:40003"));
  EXPECT_TRUE(refused.allocate().is_error(err::kInsufficientCapacity));
  EXPECT_EQ(quota.admits.size(), 3U);
  EXPECT_EQ(quota.releases.size(), 3U);
  EXPECT_EQ(quota.total(), 0U);
  EXPECT_EQ(quota.releases[0], (std::pair<std::string, std::string>{"alice", "alice"}));
}

TEST(Quota, MalformedLifetimeIsNotCounted) {
  Harness h;
  auto& quota = static_cast<FakeQuota&>(h.quota);
  TestClient c(h, udp_tuple("198.51.100.10:40001"));
  const uint8_t short_lifetime[2] = {0, 1};
  EXPECT_TRUE(c.allocate([&](stun::MessageBuilder& b) {
                 b.add(stun::attr::kLifetime, short_lifetime);
               }).is_error(err::kBadRequest));
  EXPECT_TRUE(quota.admits.empty());
}

// ---- the counts

TEST(QuotaCounter, LimitsInOrderUserLabelTotal) {
  turn::QuotaCounter q(limits(3, 2, 2));
  EXPECT_EQ(q.try_admit("1:app", "app"), Verdict::kAdmitted);
  EXPECT_EQ(q.try_admit("1:app", "app"), Verdict::kAdmitted);
  EXPECT_EQ(q.try_admit("1:app", "app"), Verdict::kUserLimit);
  EXPECT_EQ(q.try_admit("2:app", "app"), Verdict::kLabelLimit);
  EXPECT_EQ(q.try_admit("carol", "carol"), Verdict::kAdmitted);
  EXPECT_EQ(q.try_admit("dave", "dave"), Verdict::kTotalLimit);
  EXPECT_EQ(q.total(), 3U);
  q.release("1:app", "app");
  EXPECT_EQ(q.count_for_user("1:app"), 1U);
  EXPECT_EQ(q.count_for_label("app"), 1U);
  EXPECT_EQ(q.try_admit("2:app", "app"), Verdict::kAdmitted);
}

TEST(QuotaCounter, ZeroPerLabelIsNoLimitAndEmptyEntriesGo) {
  turn::QuotaCounter q(limits(1000, 1, 0));
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(q.try_admit(std::to_string(i) + ":app", "app"), Verdict::kAdmitted);
  }
  EXPECT_EQ(q.count_for_label("app"), 500U);
  for (int i = 0; i < 500; ++i) q.release(std::to_string(i) + ":app", "app");
  EXPECT_EQ(q.total(), 0U);
  EXPECT_EQ(q.entries(), 0U);
}

}  // namespace
}  // namespace turnpike::testing
