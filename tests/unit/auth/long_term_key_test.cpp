#include "turnpike/auth/long_term_key.h"

#include <gtest/gtest.h>

#include <string>

namespace turnpike::auth {
namespace {

// RFC 5769 §2.4: username is "<U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9>" (UTF-8 below),
// realm "example.org", password "TheMatrIX" (after SASLprep).
constexpr std::string_view kUser =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
constexpr std::string_view kRealm = "example.org";
constexpr std::string_view kPassword = "TheMatrIX";

std::string hex(ByteView b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t v : b) {
    s.push_back(kDigits[v >> 4]);
    s.push_back(kDigits[v & 0xF]);
  }
  return s;
}

// Expected values computed independently at authoring time with coreutils, e.g.
//   printf '%s' "$USER:example.org:TheMatrIX" | md5sum
TEST(LongTermKey, Md5MatchesRfc5769Credentials) {
  const Key key = long_term_key(stun::PasswordAlgorithm::kMd5, kUser, kRealm, kPassword);
  EXPECT_EQ(key.size, 16);
  EXPECT_EQ(hex(key.view()), "e8ca7ad59d5eb0518e312911d2dab2a9");
}

TEST(LongTermKey, Sha256MatchesIndependentDigest) {
  const Key key = long_term_key(stun::PasswordAlgorithm::kSha256, kUser, kRealm, kPassword);
  EXPECT_EQ(key.size, 32);
  EXPECT_EQ(hex(key.view()), "dd295a613b9058c3c23d6dc7165bda072304d989c9d0af3a8c7e184b4f9bb4a1");
}

TEST(LongTermKey, AsciiMd5) {
  // printf '%s' 'alice:example.org:secret' | md5sum
  const Key key = long_term_key(stun::PasswordAlgorithm::kMd5, "alice", "example.org", "secret");
  EXPECT_EQ(hex(key.view()), "543e1aec5d3614f03141652d6ada51b2");
}

TEST(LongTermKey, EveryFieldMatters) {
  const auto md5 = stun::PasswordAlgorithm::kMd5;
  const Key base = long_term_key(md5, "alice", "realm", "pw");
  EXPECT_NE(hex(base.view()), hex(long_term_key(md5, "alicf", "realm", "pw").view()));
  EXPECT_NE(hex(base.view()), hex(long_term_key(md5, "alice", "realn", "pw").view()));
  EXPECT_NE(hex(base.view()), hex(long_term_key(md5, "alice", "realm", "pX").view()));
}

TEST(Userhash, MatchesIndependentDigest) {
  // printf '%s' "$USER:example.org" | sha256sum
  const auto h = userhash(kUser, kRealm);
  EXPECT_EQ(hex(h), "4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704");
}

}  // namespace
}  // namespace turnpike::auth
