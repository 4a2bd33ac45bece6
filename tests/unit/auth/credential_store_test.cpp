#include "turnpike/auth/credential_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "turnpike/auth/rest_credentials.h"
#include "turnpike/util/constant_time.h"

namespace turnpike::auth {
namespace {

constexpr auto kMd5 = stun::PasswordAlgorithm::kMd5;
constexpr auto kSha256 = stun::PasswordAlgorithm::kSha256;
constexpr int64_t kNow = 1700000000;

bool same(const Key& a, const Key& b) { return constant_time_equal(a.view(), b.view()); }

TEST(CredentialStore, EmptyByDefault) {
  CredentialStore store;
  EXPECT_TRUE(store.empty());
  std::vector<Key> keys{Key{}};
  EXPECT_EQ(store.keys_for("alice", "r", kMd5, kNow, keys), LookupStatus::kUnknownUser);
  EXPECT_TRUE(keys.empty());
}

TEST(CredentialStore, StaticUserFound) {
  CredentialStore store;
  store.add_static_user("alice", Secret("wonderland"));
  EXPECT_FALSE(store.empty());
  std::vector<Key> keys;
  ASSERT_EQ(store.keys_for("alice", "example.org", kMd5, kNow, keys), LookupStatus::kFound);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(same(keys[0], long_term_key(kMd5, "alice", "example.org", "wonderland")));
  ASSERT_EQ(store.keys_for("alice", "example.org", kSha256, kNow, keys), LookupStatus::kFound);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].size, 32);
  EXPECT_TRUE(same(keys[0], long_term_key(kSha256, "alice", "example.org", "wonderland")));
  EXPECT_EQ(store.keys_for("Alice", "example.org", kMd5, kNow, keys), LookupStatus::kUnknownUser);
  EXPECT_TRUE(keys.empty());
}

TEST(CredentialStore, StaticUserWinsOverRestForm) {
  CredentialStore store;
  store.add_static_user("1", Secret("static"));  // expired as a REST name, but static first
  store.set_rest_secrets({Secret("north-star")});
  std::vector<Key> keys;
  ASSERT_EQ(store.keys_for("1", "r", kMd5, kNow, keys), LookupStatus::kFound);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(same(keys[0], long_term_key(kMd5, "1", "r", "static")));
}

TEST(CredentialStore, RestWithTwoSecretsGivesTwoKeys) {
  CredentialStore store;
  store.set_rest_secrets({Secret("old-secret"), Secret("new-secret")});
  EXPECT_FALSE(store.empty());
  const RestCredential by_old = mint_rest_credential("old-secret", "alice", kNow + 3600);
  const RestCredential by_new = mint_rest_credential("new-secret", "alice", kNow + 3600);
  ASSERT_EQ(by_old.username, by_new.username);
  std::vector<Key> keys;
  ASSERT_EQ(store.keys_for(by_old.username, "r", kMd5, kNow, keys), LookupStatus::kFound);
  ASSERT_EQ(keys.size(), 2u);
  const Key old_key = long_term_key(kMd5, by_old.username, "r", by_old.password);
  const Key new_key = long_term_key(kMd5, by_new.username, "r", by_new.password);
  EXPECT_FALSE(same(old_key, new_key));
  EXPECT_TRUE(same(keys[0], old_key) || same(keys[1], old_key));
  EXPECT_TRUE(same(keys[0], new_key) || same(keys[1], new_key));
  const Key wrong = long_term_key(kMd5, by_old.username, "r", "guess");
  EXPECT_FALSE(same(keys[0], wrong) || same(keys[1], wrong));
}

TEST(CredentialStore, RestExpiryBoundary) {
  CredentialStore store;
  store.set_rest_secrets({Secret("s")});
  std::vector<Key> keys;
  EXPECT_EQ(store.keys_for(std::to_string(kNow) + ":bob", "r", kMd5, kNow, keys),
            LookupStatus::kFound);
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(store.keys_for(std::to_string(kNow - 1) + ":bob", "r", kMd5, kNow, keys),
            LookupStatus::kExpired);
  EXPECT_TRUE(keys.empty());
  EXPECT_EQ(store.keys_for(std::to_string(kNow - 1), "r", kMd5, kNow, keys),
            LookupStatus::kExpired);
}

TEST(CredentialStore, NonRestUnknown) {
  CredentialStore store;
  store.add_static_user("alice", Secret("pw"));
  store.set_rest_secrets({Secret("s")});
  std::vector<Key> keys;
  EXPECT_EQ(store.keys_for("bob", "r", kMd5, kNow, keys), LookupStatus::kUnknownUser);
  EXPECT_EQ(store.keys_for("", "r", kMd5, kNow, keys), LookupStatus::kUnknownUser);
  EXPECT_EQ(store.keys_for("99999999999999999999:x", "r", kMd5, kNow, keys),
            LookupStatus::kUnknownUser);
  EXPECT_TRUE(keys.empty());
}

TEST(CredentialStore, RestFormWithoutSecretsUnknown) {
  CredentialStore store;
  store.add_static_user("alice", Secret("pw"));
  std::vector<Key> keys;
  EXPECT_EQ(store.keys_for("1800000000:bob", "r", kMd5, kNow, keys), LookupStatus::kUnknownUser);
  EXPECT_EQ(store.keys_for("1:bob", "r", kMd5, kNow, keys), LookupStatus::kUnknownUser);
  store.set_rest_secrets({Secret("")});  // an empty secret is ignored
  EXPECT_EQ(store.keys_for("1800000000:bob", "r", kMd5, kNow, keys), LookupStatus::kUnknownUser);
}

TEST(CredentialStore, RestCustomSeparator) {
  CredentialStore store;
  store.set_rest_secrets({Secret("s")}, '-');
  std::vector<Key> keys;
  EXPECT_EQ(store.keys_for("1800000000-bob", "r", kMd5, kNow, keys), LookupStatus::kFound);
  EXPECT_EQ(store.keys_for("1800000000:bob", "r", kMd5, kNow, keys), LookupStatus::kUnknownUser);
}

TEST(CredentialStore, UsernameForHash) {
  CredentialStore store;
  store.add_static_user("alice", Secret("a"));
  store.add_static_user("bob", Secret("b"));
  const auto hash = userhash("bob", "example.org");
  const std::string* name = store.username_for_hash(hash, "example.org");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(*name, "bob");
  EXPECT_EQ(store.username_for_hash(hash, "other.realm"), nullptr);
  EXPECT_EQ(store.username_for_hash(userhash("carol", "example.org"), "example.org"), nullptr);
  EXPECT_EQ(store.username_for_hash(ByteView(hash.data(), 16), "example.org"), nullptr);
  EXPECT_EQ(store.username_for_hash({}, "example.org"), nullptr);
}

TEST(CredentialStore, LabelOfRestUsernamesIsTheAppPart) {
  CredentialStore store;
  store.add_static_user("alice", Secret("wonderland"));
  store.add_static_user("123:static", Secret("x"));
  store.set_rest_secrets({Secret("s")}, ':');
  EXPECT_EQ(store.label_of("1700003600:app-one"), "app-one");
  EXPECT_EQ(store.label_of("1700009999:app-one"), "app-one");
  EXPECT_EQ(store.label_of("1700003600:a:b"), "a:b");     // everything after the first separator
  EXPECT_EQ(store.label_of("1700003600"), "");            // minted without a user part
  EXPECT_EQ(store.label_of("alice"), "alice");            // a static user is its own label
  EXPECT_EQ(store.label_of("123:static"), "123:static");  // static users come first
  EXPECT_EQ(store.label_of("app:1700003600"), "app:1700003600");  // not REST form
}

// USERHASH is one hash lookup, not a SHA-256 of every static user per request: 200 lookups among
// 20,000 users take microseconds (a scan would hash 4 million times, seconds).
TEST(CredentialStore, UserhashIsALookupNotAScan) {
  CredentialStore store;
  for (int i = 0; i < 20'000; ++i) store.add_static_user("user" + std::to_string(i), Secret("p"));
  const auto hash = userhash("user12345", "example.org");
  ASSERT_NE(store.username_for_hash(hash, "example.org"), nullptr);  // builds the index
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    const std::string* found = store.username_for_hash(hash, "example.org");
    ASSERT_TRUE(found != nullptr && *found == "user12345");
    EXPECT_EQ(store.username_for_hash(userhash("nobody", "example.org"), "example.org"), nullptr);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::milliseconds(300));
  // Another realm, and a user added later, are found too (the index is rebuilt).
  EXPECT_NE(store.username_for_hash(userhash("user7", "other"), "other"), nullptr);
  store.add_static_user("zed", Secret("p"));
  EXPECT_NE(store.username_for_hash(userhash("zed", "other"), "other"), nullptr);
  EXPECT_EQ(store.username_for_hash(ByteView(hash.data(), 31), "example.org"), nullptr);
}

}  // namespace
}  // namespace turnpike::auth
