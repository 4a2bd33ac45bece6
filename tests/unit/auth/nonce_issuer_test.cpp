#include "turnpike/auth/nonce_issuer.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "turnpike/stun/constants.h"

namespace turnpike::auth {
namespace {

using Check = NonceIssuer::Check;

constexpr std::array<uint8_t, 32> kKey = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                          12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                          23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
constexpr Millis kValidity = 600'000;
constexpr Millis kNow = 1'000'000;

SocketAddress ip(std::string_view text, uint16_t port = 40000) {
  return SocketAddress{*IpAddress::parse(text), port};
}

bool stun_nonce_chars(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

class NonceIssuerTest : public ::testing::Test {
 protected:
  NonceIssuer issuer_{kKey, kValidity};
  SocketAddress client_ = ip("203.0.113.7");
};

TEST_F(NonceIssuerTest, FreshNonceIsValid) {
  const std::string nonce = issuer_.issue(kNow, client_, 0);
  EXPECT_EQ(issuer_.check(nonce, kNow, client_), Check::kValid);
  EXPECT_EQ(issuer_.check(nonce, kNow + kValidity, client_), Check::kValid);
  EXPECT_EQ(issuer_.check(nonce, kNow - 5, client_), Check::kValid);
}

TEST_F(NonceIssuerTest, StaleAfterValidity) {
  const std::string nonce = issuer_.issue(kNow, client_, 0);
  EXPECT_EQ(issuer_.check(nonce, kNow + kValidity + 1, client_), Check::kStale);
  EXPECT_EQ(issuer_.check(nonce, kNow + 100 * kValidity, client_), Check::kStale);
}

TEST_F(NonceIssuerTest, FormatHasCookieAndSafeCharacters) {
  const std::string nonce = issuer_.issue(kNow, client_, kFeaturePasswordAlgorithms);
  EXPECT_TRUE(nonce.starts_with(stun::kNonceCookie));
  EXPECT_EQ(nonce.substr(0, 9), "obMatJos2");
  EXPECT_LT(nonce.size(), 128u);
  EXPECT_EQ(nonce.size(), 13u + 16u);  // cookie + features + 4-byte expiry and a 64-bit MAC
  EXPECT_TRUE(stun_nonce_chars(nonce)) << nonce;
  // 0x800000 -> bytes 80 00 00 -> base64 "gAAA"
  EXPECT_EQ(nonce.substr(9, 4), "gAAA");
}

TEST_F(NonceIssuerTest, EveryTamperedCharacterIsInvalid) {
  const std::string nonce = issuer_.issue(kNow, client_, kFeaturePasswordAlgorithms);
  for (size_t i = 0; i < nonce.size(); ++i) {
    std::string bad = nonce;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(issuer_.check(bad, kNow, client_), Check::kInvalid) << "position " << i;
  }
}

TEST_F(NonceIssuerTest, OtherClientIpIsInvalid) {
  const std::string nonce = issuer_.issue(kNow, client_, 0);
  EXPECT_EQ(issuer_.check(nonce, kNow, ip("203.0.113.8")), Check::kInvalid);
  EXPECT_EQ(issuer_.check(nonce, kNow, ip("::ffff:203.0.113.7")), Check::kInvalid);
  const SocketAddress v6 = ip("2001:db8::1");
  const std::string nonce6 = issuer_.issue(kNow, v6, 0);
  EXPECT_EQ(issuer_.check(nonce6, kNow, v6), Check::kValid);
  EXPECT_EQ(issuer_.check(nonce6, kNow, ip("2001:db8::2")), Check::kInvalid);
  // RFC 8489 §9.2.4: another source port is another client.
  EXPECT_EQ(issuer_.check(nonce, kNow, ip("203.0.113.7", 40001)), Check::kInvalid);
  EXPECT_NE(issuer_.issue(kNow, ip("203.0.113.7", 40001), 0), nonce);
  // A stale nonce for the wrong IP is invalid, not stale.
  EXPECT_EQ(issuer_.check(nonce, kNow + 2 * kValidity, ip("203.0.113.8")), Check::kInvalid);
}

TEST_F(NonceIssuerTest, OtherIssuerKeyIsInvalid) {
  std::array<uint8_t, 32> other_key = kKey;
  other_key[31] ^= 1;
  const NonceIssuer other(other_key, kValidity);
  const std::string nonce = issuer_.issue(kNow, client_, 0);
  EXPECT_EQ(other.check(nonce, kNow, client_), Check::kInvalid);
  EXPECT_EQ(issuer_.check(other.issue(kNow, client_, 0), kNow, client_), Check::kInvalid);
}

TEST_F(NonceIssuerTest, FeaturesRoundTrip) {
  for (uint32_t features :
       {0u, kFeaturePasswordAlgorithms, kFeatureUsernameAnonymity,
        kFeaturePasswordAlgorithms | kFeatureUsernameAnonymity, 0xFFFFFFu, 0x123456u}) {
    const std::string nonce = issuer_.issue(kNow, client_, features);
    EXPECT_EQ(NonceIssuer::features_of(nonce), features);
    EXPECT_EQ(issuer_.check(nonce, kNow, client_), Check::kValid);
  }
}

TEST_F(NonceIssuerTest, FeaturesAreAuthenticated) {
  std::string nonce = issuer_.issue(kNow, client_, 0);
  nonce.replace(9, 4, "gAAA");  // claim password algorithms
  EXPECT_EQ(NonceIssuer::features_of(nonce), kFeaturePasswordAlgorithms);
  EXPECT_EQ(issuer_.check(nonce, kNow, client_), Check::kInvalid);
}

TEST(NonceFeatures, WithoutCookieIsZero) {
  EXPECT_EQ(NonceIssuer::features_of(""), 0u);
  EXPECT_EQ(NonceIssuer::features_of("obMatJos2"), 0u);
  EXPECT_EQ(NonceIssuer::features_of("obMatJos2gAA"), 0u);
  EXPECT_EQ(NonceIssuer::features_of("xbMatJos2gAAAabcd"), 0u);
  EXPECT_EQ(NonceIssuer::features_of("obMatJos2g!AAabcd"), 0u);
  EXPECT_EQ(NonceIssuer::features_of("obMatJos2gAAA"), kFeaturePasswordAlgorithms);
  EXPECT_EQ(NonceIssuer::features_of("f3a81b2c9d"), 0u);
}

TEST_F(NonceIssuerTest, GarbageIsInvalid) {
  const std::string nonce = issuer_.issue(kNow, client_, 0);
  EXPECT_EQ(issuer_.check("", kNow, client_), Check::kInvalid);
  EXPECT_EQ(issuer_.check("obMatJos2", kNow, client_), Check::kInvalid);
  EXPECT_EQ(issuer_.check("obMatJos2AAAA", kNow, client_), Check::kInvalid);
  EXPECT_EQ(issuer_.check(std::string(100000, 'A'), kNow, client_), Check::kInvalid);
  EXPECT_EQ(issuer_.check(nonce + "A", kNow, client_), Check::kInvalid);
  EXPECT_EQ(issuer_.check(nonce.substr(0, nonce.size() - 1), kNow, client_), Check::kInvalid);
  EXPECT_EQ(issuer_.check(nonce.substr(0, nonce.size() - 4), kNow, client_), Check::kInvalid);
  std::string with_nul = nonce;
  with_nul[20] = '\0';
  EXPECT_EQ(issuer_.check(with_nul, kNow, client_), Check::kInvalid);
  std::string with_pad = nonce;
  with_pad.back() = '=';
  EXPECT_EQ(issuer_.check(with_pad, kNow, client_), Check::kInvalid);
  std::string same_length_junk(nonce.size(), '\xff');
  EXPECT_EQ(issuer_.check(same_length_junk, kNow, client_), Check::kInvalid);
  same_length_junk.replace(0, 9, "obMatJos2");
  EXPECT_EQ(issuer_.check(same_length_junk, kNow, client_), Check::kInvalid);
}

TEST(NonceIssuerKeys, ShortAndLongKeysWork) {
  const SocketAddress client = ip("198.51.100.1");
  const NonceIssuer empty_key({}, kValidity);
  EXPECT_EQ(empty_key.check(empty_key.issue(kNow, client, 0), kNow, client), Check::kValid);
  const std::string long_key(100, 'k');
  const NonceIssuer long_issuer(as_bytes(long_key), kValidity);
  EXPECT_EQ(long_issuer.check(long_issuer.issue(kNow, client, 0), kNow, client), Check::kValid);
  EXPECT_EQ(empty_key.check(long_issuer.issue(kNow, client, 0), kNow, client), Check::kInvalid);
}

TEST(NonceIssuerKeys, HugeValidityDoesNotOverflow) {
  const SocketAddress client = ip("198.51.100.1");
  const NonceIssuer forever(kKey, INT64_MAX);
  const std::string nonce = forever.issue(kNow, client, 0);
  EXPECT_EQ(forever.check(nonce, INT64_MAX, client), Check::kValid);
}

}  // namespace
}  // namespace turnpike::auth
