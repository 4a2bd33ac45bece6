// turn::Server: no costly work for unauthenticated input (docs/security.md). A request with
// MESSAGE-INTEGRITY pays its source's token before any key is derived or MAC computed, and is
// dropped unprocessed once the bucket is empty; one that authenticates gets its token back.
// Oversized USERNAME / REALM / NONCE get 400 before hashing.
#include <gtest/gtest.h>

#include "support/test_client.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace err = stun::error;

const FiveTuple kAlice = udp_tuple("198.51.100.10:40000");
const FiveTuple kMallory = udp_tuple("198.51.100.10:40001");

HarnessOptions limited(uint32_t rate, uint32_t burst) {
  HarnessOptions o;
  o.config.unauthenticated_rate_per_s = rate;
  o.config.unauthenticated_burst = burst;
  return o;
}

// A client with a valid nonce for its address and the wrong password: every request it signs is
// forged (MESSAGE-INTEGRITY present, wrong key).
TestClient forger(Harness& h, const FiveTuple& tuple, std::string username = "alice") {
  TestClient c(h, tuple, std::move(username), "wrong");
  c.realm = h.config.realm;
  c.nonce = h.nonces.issue(h.now().mono_ms, tuple.client, 0);
  return c;
}

TEST(UnauthenticatedCost, ForgedIntegrityPaysBeforeItIsVerified) {
  Harness h(limited(1, 2));
  TestClient mallory = forger(h, kMallory);
  size_t answered = 0;
  for (int i = 0; i < 10; ++i) {
    answered += mallory
                    .send_bytes(mallory.build(Method::kRefresh, TestClient::next_transaction_id(),
                                              {}, true))
                    .size();
  }
  EXPECT_EQ(answered, 2U);  // the burst
  // Only the two that paid were verified: the other eight were dropped before any hashing (before,
  // all ten were verified and the eight were dropped only when answering).
  EXPECT_EQ(h.observer.auth_failures.size(), 2U);
  EXPECT_EQ(h.server.counters().get(turn::metric::kUnauthenticatedDropped), 8U);
}

TEST(UnauthenticatedCost, AuthenticatedRequestsGetTheirTokenBack) {
  Harness h(limited(1, 2));
  TestClient alice(h, kAlice);
  ASSERT_TRUE(alice.allocate().is_success());  // the 401 took one token; the Allocate none
  // Authenticated requests from another port of the same address (no allocation: 437, signed).
  TestClient other(h, kMallory);
  other.realm = alice.realm;
  other.nonce = h.nonces.issue(h.now().mono_ms, kMallory.client, 0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(other.send_once(Method::kRefresh, {}, true).is_error(err::kAllocationMismatch))
        << i;
  }
  // The one token left is still there for a forged request; the next is dropped.
  TestClient mallory = forger(h, udp_tuple("198.51.100.10:40002"));
  EXPECT_TRUE(mallory.send_once(Method::kRefresh, {}, true).is_error(err::kUnauthorized));
  EXPECT_TRUE(
      mallory
          .send_bytes(mallory.build(Method::kRefresh, TestClient::next_transaction_id(), {}, true))
          .empty());
}

TEST(UnauthenticatedCost, AnAllocationsOwnerIsVerifiedWhileItsAddressIsFlooded) {
  Harness h(limited(1, 3));
  TestClient alice(h, kAlice);
  ASSERT_TRUE(alice.allocate().is_success());
  // A flood of forged requests from alice's address (another port) empties its bucket.
  TestClient flooder = forger(h, kMallory);
  for (int i = 0; i < 50; ++i) {
    (void)flooder.send_bytes(
        flooder.build(Method::kRefresh, TestClient::next_transaction_id(), {}, true));
  }
  EXPECT_GE(h.server.counters().get(turn::metric::kUnauthenticatedDropped), 45U);
  // Alice's own 5-tuple and USERNAME are still verified: her allocation keeps working.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(alice.refresh().is_success()) << i;
  ASSERT_TRUE(alice.create_permission({address("93.184.216.34:5000")}).is_success());
  // From her 5-tuple under another USERNAME, nothing is verified while the bucket is empty.
  TestClient spoofer = forger(h, kAlice, std::string(kBob));
  const size_t failures = h.observer.auth_failures.size();
  EXPECT_TRUE(
      spoofer
          .send_bytes(spoofer.build(Method::kRefresh, TestClient::next_transaction_id(), {}, true))
          .empty());
  EXPECT_EQ(h.observer.auth_failures.size(), failures);
  // Her 5-tuple and USERNAME with a wrong key: verified (the exception), failed, not answered.
  TestClient impostor = forger(h, kAlice);
  EXPECT_TRUE(
      impostor
          .send_bytes(impostor.build(Method::kRefresh, TestClient::next_transaction_id(), {}, true))
          .empty());
  EXPECT_EQ(h.observer.auth_failures.size(), failures + 1);
}

TEST(UnauthenticatedCost, OversizedUsernameGets400) {
  Harness h;
  TestClient c = forger(h, kMallory, "4102444800:" + std::string(498, 'x'));  // 509 bytes
  const Reply r = c.send_once(Method::kAllocate, {}, true);
  EXPECT_TRUE(r.is_error(err::kBadRequest));
  ASSERT_EQ(h.observer.auth_failures.size(), 1U);
  EXPECT_EQ(h.observer.auth_failures[0], auth::AuthFailure::kOversized);
}

}  // namespace
}  // namespace turnpike::testing
