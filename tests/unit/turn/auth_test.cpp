// turn::Server: Binding (RFC 8489 §6.3.1) and the long-term credential mechanism
// (RFC 8489 §9.2.4) with its security features (PASSWORD-ALGORITHMS, USERHASH, MI-SHA256) and TURN
// REST credentials.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/test_client.h"
#include "turnpike/auth/rest_credentials.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace attr = stun::attr;
namespace err = stun::error;

const FiveTuple kClient = udp_tuple("198.51.100.10:40000");
const Bytes kOfferedAlgorithms = {0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};

bool has_failure(const Harness& h, turn::AuthFailure f) {
  return std::ranges::find(h.observer.auth_failures, f) != h.observer.auth_failures.end();
}

// ---- Binding

TEST(Binding, SuccessCarriesClientAddressIpv4) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.send_once(Method::kBinding, {}, false);
  ASSERT_TRUE(r.is_success());
  EXPECT_EQ(r.method, Method::kBinding);
  ASSERT_TRUE(r.mapped);
  EXPECT_EQ(*r.mapped, kClient.client);
  EXPECT_TRUE(r.has_fingerprint);
  EXPECT_FALSE(r.has_integrity);
}

TEST(Binding, SuccessCarriesClientAddressIpv6) {
  Harness h;
  TestClient c(h, udp_tuple("[2001:db8::10]:40001", "[2001:db8::1]:3478"));
  const Reply r = c.send_once(Method::kBinding, {}, false);
  ASSERT_TRUE(r.is_success());
  ASSERT_TRUE(r.mapped);
  EXPECT_EQ(*r.mapped, c.tuple.client);  // the XOR covers the transaction id for IPv6
  EXPECT_TRUE(r.has_fingerprint);
}

TEST(Binding, UnknownComprehensionRequiredAttributeGets420) {
  Harness h;
  TestClient c(h, kClient);
  const uint8_t value[4] = {1, 2, 3, 4};
  const Reply r = c.send_once(
      Method::kBinding,
      [&](stun::MessageBuilder& b) {
        b.add(0x0031, value);  // unassigned, comprehension-required
        b.add(0x8031, value);  // unassigned, comprehension-optional: ignored
      },
      false);
  ASSERT_TRUE(r.is_error(err::kUnknownAttribute));
  EXPECT_EQ(r.unknown_attributes, std::vector<uint16_t>{0x0031});
  EXPECT_TRUE(r.has_fingerprint);
}

TEST(Binding, UnknownComprehensionOptionalAttributeIsIgnored) {
  Harness h;
  TestClient c(h, kClient);
  const uint8_t value[4] = {1, 2, 3, 4};
  const Reply r = c.send_once(
      Method::kBinding, [&](stun::MessageBuilder& b) { b.add(0x8031, value); }, false);
  EXPECT_TRUE(r.is_success());
}

// ---- the challenge

TEST(Auth, AllocateWithoutIntegrityGets401Challenge) {
  Harness h;
  TestClient c(h, kClient);
  c.pad_unauthenticated = 100;  // large enough for the whole challenge (see limits_test.cpp)
  const Reply r = c.send_once(
      Method::kAllocate,
      [](stun::MessageBuilder& b) {
        b.add(attr::kRequestedTransport, TestClient::requested_transport(17));
      },
      false);
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_EQ(r.method, Method::kAllocate);
  ASSERT_TRUE(r.realm);
  EXPECT_EQ(*r.realm, "turnpike");
  ASSERT_TRUE(r.nonce);
  EXPECT_TRUE(r.nonce->starts_with("obMatJos2")) << *r.nonce;
  ASSERT_TRUE(r.password_algorithms);
  EXPECT_EQ(*r.password_algorithms, kOfferedAlgorithms);
  EXPECT_FALSE(r.has_integrity);
  EXPECT_FALSE(r.has_integrity_sha256);
  EXPECT_TRUE(r.has_fingerprint);
  EXPECT_EQ(h.server.allocation_count(), 0u);
  EXPECT_TRUE(h.relays.open_calls.empty());
}

TEST(Auth, ChallengeWithoutPasswordAlgorithmsWhenDisabled) {
  HarnessOptions o;
  o.config.password_algorithms = false;
  Harness h(o);
  TestClient c(h, kClient);
  const Reply r = c.send_once(Method::kRefresh, {}, false);
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_FALSE(r.password_algorithms);
  EXPECT_TRUE(c.allocate().is_success());
}

TEST(Auth, ClassicClientAllocatesWithMd5Key) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_TRUE(r.has_integrity);
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_FALSE(r.has_integrity_sha256);
  EXPECT_TRUE(r.has_fingerprint);
}

TEST(Auth, WrongPasswordGets401) {
  Harness h;
  TestClient c(h, kClient, "alice", "not-her-password");
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_TRUE(r.nonce);
  EXPECT_TRUE(r.realm);
  EXPECT_FALSE(r.has_integrity);
  EXPECT_TRUE(has_failure(h, turn::AuthFailure::kBadIntegrity));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Auth, UnknownUserGets401) {
  Harness h;
  TestClient c(h, kClient, "mallory", "whatever");
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_FALSE(r.has_integrity);
  EXPECT_TRUE(has_failure(h, turn::AuthFailure::kUnknownUser));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Auth, IntegrityWithoutNonceGets400) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.send_once(Method::kRefresh, {}, false).is_error(err::kUnauthorized));
  c.send_nonce = false;
  const Reply r = c.send_once(Method::kRefresh, {}, true);
  EXPECT_TRUE(r.is_error(err::kBadRequest));
  EXPECT_FALSE(r.has_integrity);
  EXPECT_TRUE(has_failure(h, turn::AuthFailure::kMissingAttributes));
}

TEST(Auth, TamperedNonceGets438WithAFreshNonce) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.send_once(Method::kRefresh, {}, false).is_error(err::kUnauthorized));
  std::string tampered = c.nonce;
  tampered[20] = tampered[20] == 'A' ? 'B' : 'A';
  c.nonce = tampered;
  const Reply r = c.send_once(Method::kAllocate, {}, true);
  ASSERT_TRUE(r.is_error(err::kStaleNonce));
  ASSERT_TRUE(r.nonce);
  EXPECT_NE(*r.nonce, tampered);
  EXPECT_TRUE(r.realm);
  EXPECT_FALSE(r.has_integrity);
  EXPECT_TRUE(has_failure(h, turn::AuthFailure::kInvalidNonce));
  EXPECT_TRUE(c.allocate().is_success());  // the fresh nonce works
}

TEST(Auth, NonceIssuedToAnotherIpGets438) {
  Harness h;
  TestClient a(h, kClient);
  TestClient b(h, udp_tuple("198.51.100.99:40000"));
  ASSERT_TRUE(a.send_once(Method::kRefresh, {}, false).is_error(err::kUnauthorized));
  b.realm = a.realm;
  b.nonce = a.nonce;
  EXPECT_TRUE(b.send_once(Method::kRefresh, {}, true).is_error(err::kStaleNonce));
}

TEST(Auth, StaleNonceGets438ThenTheFreshNonceWorks) {
  HarnessOptions o;
  o.config.nonce_lifetime_ms = 60'000;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  h.advance_s(59);
  EXPECT_TRUE(c.send_once(Method::kRefresh, {}, true).is_success());  // still valid
  h.advance_s(2);
  const std::string old_nonce = c.nonce;
  const Reply stale = c.send_once(Method::kRefresh, {}, true);
  ASSERT_TRUE(stale.is_error(err::kStaleNonce));
  ASSERT_TRUE(stale.nonce);
  EXPECT_NE(*stale.nonce, old_nonce);
  EXPECT_TRUE(stale.nonce->starts_with("obMatJos2"));
  EXPECT_TRUE(stale.password_algorithms);
  EXPECT_FALSE(stale.has_integrity);
  EXPECT_TRUE(has_failure(h, turn::AuthFailure::kStaleNonce));
  EXPECT_TRUE(c.send_once(Method::kRefresh, {}, true).is_success());
}

// RFC 8489 §9.2.4: "The server MUST NOT choose the same NONCE for two requests unless they have
// the same source IP address and port."
TEST(Auth, ClientsOnTheSameIpButOtherPortsGetDifferentNonces) {
  Harness h;
  TestClient a(h, udp_tuple("198.51.100.10:40000"));
  TestClient b(h, udp_tuple("198.51.100.10:40001"));
  ASSERT_TRUE(a.send_once(Method::kRefresh, {}, false).is_error(err::kUnauthorized));
  ASSERT_TRUE(b.send_once(Method::kRefresh, {}, false).is_error(err::kUnauthorized));
  EXPECT_NE(a.nonce, b.nonce) << "same NONCE issued to two source ports at the same instant";
}

// RFC 8489 §9.2.4 lists the checks in order: USERNAME valid (401), then MESSAGE-INTEGRITY (401),
// and only then NONCE freshness (438). A request with a wrong password and a stale nonce fails the
// integrity check first: 401 (RFC 5389 §10.2.2 had the nonce check first; RFC 8489 moved it).
TEST(Auth, IntegrityIsCheckedBeforeNonceFreshness) {
  HarnessOptions o;
  o.config.nonce_lifetime_ms = 60'000;
  Harness h(o);
  TestClient c(h, kClient, "alice", "not-her-password");
  ASSERT_TRUE(c.send_once(Method::kRefresh, {}, false).is_error(err::kUnauthorized));
  h.advance_s(61);
  const Reply r = c.send_once(Method::kRefresh, {}, true);
  EXPECT_TRUE(r.is_error(err::kUnauthorized)) << "got " << r.error;
}

TEST(Auth, RestCredentialsWorkWithEitherSecret) {
  Harness h;
  const int64_t expiry = h.now().unix_s + 3600;
  const auto one = auth::mint_rest_credential(kRestSecretOne, "carol", expiry);
  const auto two = auth::mint_rest_credential(kRestSecretTwo, "dave", expiry);
  TestClient c1(h, udp_tuple("198.51.100.11:40000"), one.username, one.password);
  TestClient c2(h, udp_tuple("198.51.100.12:40000"), two.username, two.password);
  const Reply r1 = c1.allocate();
  const Reply r2 = c2.allocate();
  ASSERT_TRUE(r1.is_success()) << r1.error;
  ASSERT_TRUE(r2.is_success()) << r2.error;
  EXPECT_EQ(r1.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(r2.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(h.server.allocation_count(), 2u);
}

TEST(Auth, RestCredentialFromAnUnknownSecretGets401) {
  Harness h;
  const auto cred = auth::mint_rest_credential("not-configured", "carol", h.now().unix_s + 3600);
  TestClient c(h, kClient, cred.username, cred.password);
  EXPECT_TRUE(c.allocate().is_error(err::kUnauthorized));
}

TEST(Auth, ExpiredRestUsernameGets401) {
  Harness h;
  const auto cred = auth::mint_rest_credential(kRestSecretOne, "carol", h.now().unix_s - 1);
  TestClient c(h, kClient, cred.username, cred.password);
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_FALSE(r.has_integrity);
  EXPECT_TRUE(has_failure(h, turn::AuthFailure::kExpiredUser));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

// ---- RFC 8489 §9.2 security features

TEST(Auth, Sha256ClientGetsMessageIntegritySha256) {
  Harness h;
  TestClient c(h, kClient);
  c.use_sha256 = true;
  c.pad_unauthenticated = 100;  // offered PASSWORD-ALGORITHMS over UDP
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_TRUE(r.has_integrity_sha256);
  EXPECT_EQ(r.integrity_sha256, stun::IntegrityStatus::kOk);  // under the SHA-256 key
  EXPECT_FALSE(r.has_integrity);
  EXPECT_TRUE(r.has_fingerprint);
  // Later requests and their error responses keep MI-SHA256.
  const Reply again = c.allocate();
  ASSERT_TRUE(again.is_error(err::kAllocationMismatch));
  EXPECT_EQ(again.integrity_sha256, stun::IntegrityStatus::kOk);
}

TEST(Auth, DowngradedPasswordAlgorithmsGets400) {
  Harness h;
  TestClient c(h, kClient);
  c.use_sha256 = true;
  c.pad_unauthenticated = 100;  // offered PASSWORD-ALGORITHMS over UDP
  c.algorithms_override = Bytes{0x00, 0x01, 0x00, 0x00};  // MD5 only: not what we offered
  const Reply r = c.allocate();
  EXPECT_TRUE(r.is_error(err::kBadRequest));
  EXPECT_TRUE(has_failure(h, turn::AuthFailure::kDowngrade));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Auth, PasswordAlgorithmWithoutTheListGets400) {
  Harness h;
  TestClient c(h, kClient);
  c.use_sha256 = true;
  c.pad_unauthenticated = 100;  // offered PASSWORD-ALGORITHMS over UDP
  c.send_algorithms_list = false;
  EXPECT_TRUE(c.allocate().is_error(err::kBadRequest));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Auth, UserhashInsteadOfUsername) {
  Harness h;
  TestClient c(h, kClient);
  c.use_userhash = true;
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
}

TEST(Auth, UserhashOfAnUnknownUserGets401) {
  Harness h;
  TestClient c(h, kClient, "mallory", "whatever");
  c.use_userhash = true;
  EXPECT_TRUE(c.allocate().is_error(err::kUnauthorized));
}

TEST(Auth, UnknownRequiredAttributeAfterAuthenticationGets420WithIntegrity) {
  Harness h;
  TestClient c(h, kClient);
  const uint8_t value[4] = {1, 2, 3, 4};
  const Reply r = c.allocate([&](stun::MessageBuilder& b) { b.add(0x0031, value); });
  ASSERT_TRUE(r.is_error(err::kUnknownAttribute));
  EXPECT_EQ(r.unknown_attributes, std::vector<uint16_t>{0x0031});
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

}  // namespace
}  // namespace turnpike::testing
