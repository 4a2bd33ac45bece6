// auth::Authenticator on its own (RFC 8489 §9.2.4): the verdict for each kind of request, and the
// challenge attributes. The full exchange through turn::Server is in tests/unit/turn/auth_test.cpp.
#include "turnpike/auth/authenticator.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "turnpike/stun/attributes.h"

namespace turnpike::auth {
namespace {

using Outcome = Verdict::Outcome;
using Bytes = std::vector<uint8_t>;
namespace attr = stun::attr;

constexpr std::string_view kRealm = "turnpike";
constexpr Millis kValidity = 600'000;
constexpr Millis kNow = 1'000'000;
constexpr int64_t kUnixNow = 1'700'000'000;
const SocketAddress kClient{IpAddress::v4(198, 51, 100, 10), 40000};

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest()
      : nonces_(as_bytes("0123456789abcdef0123456789abcdef"), kValidity),
        authenticator_(credentials_, nonces_, std::string(kRealm), true) {
    credentials_.add_static_user("alice", Secret(std::string("secret")));
  }

  // An Allocate request from alice with `password`, MESSAGE-INTEGRITY last; `extra` adds
  // attributes before it.
  Bytes request(std::string_view password, const std::string& nonce,
                const std::function<void(stun::MessageBuilder&)>& extra = {}) {
    Bytes out;
    stun::MessageBuilder b(out, stun::make_type(stun::Method::kAllocate, stun::Class::kRequest),
                           Bytes(12, 7));
    b.add_string(attr::kUsername, "alice");
    b.add_string(attr::kRealm, kRealm);
    b.add_string(attr::kNonce, nonce);
    if (extra) extra(b);
    b.add_message_integrity(
        long_term_key(stun::PasswordAlgorithm::kMd5, "alice", kRealm, password).view());
    return out;
  }

  Verdict verify(const Bytes& bytes, Millis now = kNow) {
    auto msg = stun::MessageView::parse(bytes);
    EXPECT_TRUE(msg);
    return authenticator_.verify(*msg, kClient, now, kUnixNow);
  }

  CredentialStore credentials_;
  NonceIssuer nonces_;
  Authenticator authenticator_;
};

TEST_F(AuthenticatorTest, RequestWithoutIntegrityIsChallengedWithoutAFailure) {
  Bytes bytes;
  stun::MessageBuilder b(bytes, stun::make_type(stun::Method::kAllocate, stun::Class::kRequest),
                         Bytes(12, 7));
  const Verdict v = verify(bytes);
  EXPECT_EQ(v.outcome, Outcome::kChallenge);
  EXPECT_FALSE(v.failure);
}

TEST_F(AuthenticatorTest, RightPasswordAndFreshNonceAuthenticate) {
  const Bytes req =
      request("secret", nonces_.issue(kNow, kClient, 0));  // the verdict's username points into it
  const Verdict v = verify(req);
  ASSERT_TRUE(v.authenticated());
  EXPECT_FALSE(v.failure);
  EXPECT_EQ(v.username, "alice");
  EXPECT_FALSE(v.sha256_integrity);
  EXPECT_EQ(v.key.size, 16);
}

TEST_F(AuthenticatorTest, WrongPasswordIsChallenged) {
  const Bytes req =
      request("guess", nonces_.issue(kNow, kClient, 0));  // the verdict's username points into it
  const Verdict v = verify(req);
  EXPECT_EQ(v.outcome, Outcome::kChallenge);
  EXPECT_EQ(v.failure, AuthFailure::kBadIntegrity);
}

TEST_F(AuthenticatorTest, OldNonceWithTheRightPasswordGets438) {
  const Verdict v =
      verify(request("secret", nonces_.issue(kNow, kClient, 0)), kNow + kValidity + 1);
  EXPECT_EQ(v.outcome, Outcome::kStaleNonce);
  EXPECT_EQ(v.failure, AuthFailure::kStaleNonce);
}

TEST_F(AuthenticatorTest, AlteredPasswordAlgorithmsIsADowngrade) {
  const std::string nonce = nonces_.issue(kNow, kClient, kFeaturePasswordAlgorithms);
  const Verdict v = verify(request("secret", nonce, [](stun::MessageBuilder& b) {
    const uint8_t md5_only[4] = {0, 1, 0, 0};
    b.add(attr::kPasswordAlgorithms, md5_only);
    b.add(attr::kPasswordAlgorithm, md5_only);
  }));
  EXPECT_EQ(v.outcome, Outcome::kBadRequest);
  EXPECT_EQ(v.failure, AuthFailure::kDowngrade);
}

TEST_F(AuthenticatorTest, ChallengeCarriesRealmNonceAndAlgorithms) {
  Bytes bytes;
  stun::MessageBuilder b(bytes, stun::make_type(stun::Method::kAllocate, stun::Class::kError),
                         Bytes(12, 7));
  authenticator_.add_challenge(b, kNow, kClient, true);
  auto msg = stun::MessageView::parse(b.bytes());
  ASSERT_TRUE(msg);
  EXPECT_EQ(as_string_view(*msg->find(attr::kRealm)), kRealm);
  const std::string_view nonce = as_string_view(*msg->find(attr::kNonce));
  EXPECT_EQ(nonces_.check(nonce, kNow, kClient), NonceIssuer::Check::kValid);
  EXPECT_NE(NonceIssuer::features_of(nonce) & kFeaturePasswordAlgorithms, 0u);
  EXPECT_EQ(msg->find(attr::kPasswordAlgorithms)->size(), 8u);
  EXPECT_EQ(b.bytes().size(), stun::kHeaderSize + authenticator_.challenge_size() +
                                  Authenticator::password_algorithms_size());
}

// RFC 8489 §14.3 (USERNAME < 509 bytes), §14.9 / §14.10 (REALM, NONCE < 128 characters: at most
// 763 bytes), §14.4 (USERHASH is 32 bytes): anything longer is a 400, decided before any key is
// derived or MAC computed (the right password does not change that).
TEST_F(AuthenticatorTest, OversizedUsernameRealmNonceOrUserhashGet400) {
  credentials_.set_rest_secrets({Secret(std::string("rest"))});
  const std::string nonce = nonces_.issue(kNow, kClient, 0);
  const auto with = [&](std::string_view username, std::string_view realm, std::string_view n) {
    Bytes out;
    stun::MessageBuilder b(out, stun::make_type(stun::Method::kAllocate, stun::Class::kRequest),
                           Bytes(12, 7));
    b.add_string(attr::kUsername, username);
    b.add_string(attr::kRealm, realm);
    b.add_string(attr::kNonce, n);
    b.add_message_integrity(
        long_term_key(stun::PasswordAlgorithm::kMd5, "alice", kRealm, "secret").view());
    return verify(out);
  };
  const std::string rest_509 = "4102444800:" + std::string(509 - 11, 'u');  // REST form
  for (const Verdict& v :
       {with(rest_509, kRealm, nonce), with(std::string(509, 'u'), kRealm, nonce),
        with("alice", std::string(764, 'r'), nonce),
        with("alice", kRealm, nonce + std::string(764 - nonce.size(), 'n'))}) {
    EXPECT_EQ(v.outcome, Outcome::kBadRequest);
    EXPECT_EQ(v.failure, AuthFailure::kOversized);
  }
  // At the limits: the usual verdicts.
  EXPECT_EQ(with(std::string(508, 'u'), kRealm, nonce).failure, AuthFailure::kUnknownUser);
  EXPECT_TRUE(with("alice", kRealm, nonce).authenticated());
  Bytes hashed;
  stun::MessageBuilder b(hashed, stun::make_type(stun::Method::kAllocate, stun::Class::kRequest),
                         Bytes(12, 7));
  b.add(attr::kUserhash, Bytes(31, 1));
  b.add_string(attr::kRealm, kRealm);
  b.add_string(attr::kNonce, nonce);
  b.add_message_integrity(Bytes(16, 0));
  EXPECT_EQ(verify(hashed).failure, AuthFailure::kOversized);
}

}  // namespace
}  // namespace turnpike::auth
