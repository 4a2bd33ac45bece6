#include "turnpike/auth/rest_credentials.h"

#include <gtest/gtest.h>

namespace turnpike::auth {
namespace {

// Computed at authoring time:
//   printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac 'north-star' -binary | base64
TEST(RestCredentials, PasswordGoldenVector) {
  EXPECT_EQ(rest_password("north-star", "1700000000:alice"), "rchw+7XvnG7mN0BXm8xDnHNSHX0=");
  // printf '%s' '1700000000' | openssl dgst -sha1 -hmac 'north-star' -binary | base64
  EXPECT_EQ(rest_password("north-star", "1700000000"), "RmP6lGGpX8jd3LqscGHFfND43q4=");
}

TEST(RestCredentials, MintWithUser) {
  const RestCredential c = mint_rest_credential("north-star", "alice", 1700000000);
  EXPECT_EQ(c.username, "1700000000:alice");
  EXPECT_EQ(c.password, "rchw+7XvnG7mN0BXm8xDnHNSHX0=");
}

TEST(RestCredentials, MintWithoutUser) {
  const RestCredential c = mint_rest_credential("north-star", "", 1700000000);
  EXPECT_EQ(c.username, "1700000000");
  EXPECT_EQ(c.password, "RmP6lGGpX8jd3LqscGHFfND43q4=");
}

TEST(RestCredentials, MintWithCustomSeparator) {
  const RestCredential c = mint_rest_credential("s", "bob", 42, '-');
  EXPECT_EQ(c.username, "42-bob");
  EXPECT_EQ(rest_username_expiry(c.username, '-'), 42);
  EXPECT_EQ(rest_username_expiry(c.username), std::nullopt);
}

TEST(RestCredentials, DifferentSecretDifferentPassword) {
  EXPECT_NE(rest_password("north-star", "1:a"), rest_password("south-star", "1:a"));
}

TEST(RestUsernameExpiry, Valid) {
  EXPECT_EQ(rest_username_expiry("123"), 123);
  EXPECT_EQ(rest_username_expiry("123:bob"), 123);
  EXPECT_EQ(rest_username_expiry("0"), 0);
  EXPECT_EQ(rest_username_expiry("1700000000:alice:with:colons"), 1700000000);
  EXPECT_EQ(rest_username_expiry("123:"), 123);
  EXPECT_EQ(rest_username_expiry("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(rest_username_expiry("0000000000000000001"), 1);  // 19 digits
}

TEST(RestUsernameExpiry, Invalid) {
  EXPECT_EQ(rest_username_expiry(""), std::nullopt);
  EXPECT_EQ(rest_username_expiry("abc"), std::nullopt);
  EXPECT_EQ(rest_username_expiry("12a"), std::nullopt);
  EXPECT_EQ(rest_username_expiry("12 :a"), std::nullopt);
  EXPECT_EQ(rest_username_expiry(":bob"), std::nullopt);
  EXPECT_EQ(rest_username_expiry("-123"), std::nullopt);
  EXPECT_EQ(rest_username_expiry("+123"), std::nullopt);
  EXPECT_EQ(rest_username_expiry(" 123"), std::nullopt);
  EXPECT_EQ(rest_username_expiry("alice:123"), std::nullopt);
  EXPECT_EQ(rest_username_expiry("123-bob"), std::nullopt);               // wrong separator
  EXPECT_EQ(rest_username_expiry("9223372036854775808"), std::nullopt);   // INT64_MAX + 1
  EXPECT_EQ(rest_username_expiry("99999999999999999999"), std::nullopt);  // 20 digits
  EXPECT_EQ(rest_username_expiry("00000000000000000001"), std::nullopt);  // 20 digits
  EXPECT_EQ(rest_username_expiry(std::string(1000, '9')), std::nullopt);
  EXPECT_EQ(rest_username_expiry(std::string_view("12\0:a", 5)), std::nullopt);
}

}  // namespace
}  // namespace turnpike::auth
