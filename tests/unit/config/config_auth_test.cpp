// auth.*: rest_separator, nonce_lifetime, at least one credential source; the environment
// overrides TURNPIKE_REST_SECRETS and TURNPIKE_REALM.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

TEST(ConfigLoader, RestSeparatorMustBeOneCharacter) {
  for (const char* separator : {R"("")", R"("::")", R"("é")"}) {
    EXPECT_EQ(parse_errors(std::string(R"({"relay": {"address": "192.0.2.10"},
                                           "auth": {"rest_separator": )") +
                           separator + "}}"),
              std::vector<std::string>{"auth.rest_separator: must be exactly one character"})
        << separator;
  }
}

TEST(ConfigLoader, NonceLifetimeRange) {
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"nonce_lifetime": 29}})"),
            std::vector<std::string>{"auth.nonce_lifetime: 29 is out of range 30-86400"});
  EXPECT_EQ(
      parse_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"nonce_lifetime": 86401}})"),
      std::vector<std::string>{"auth.nonce_lifetime: 86401 is out of range 30-86400"});
  EXPECT_EQ(
      parse_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"nonce_lifetime": 86400}})"),
      std::vector<std::string>{});
}

TEST(ConfigValidate, NeedsCredentials) {
  const std::string expected =
      "auth: no credentials configured: set auth.static_users or auth.rest_secrets (or "
      "TURNPIKE_REST_SECRETS)";
  EXPECT_EQ(validate_errors(kMinimal), std::vector<std::string>{expected});
  EXPECT_EQ(
      validate_errors(
          R"({"relay": {"address": "192.0.2.10"}, "auth": {"static_users": {}, "rest_secrets": []}})"),
      std::vector<std::string>{expected});
  EXPECT_EQ(
      validate_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"rest_secrets": ["s"]}})"),
      std::vector<std::string>{});
}

// ---- environment overrides ----

TEST_F(EnvOverrides, RestSecretsReplaceTheFileAndSatisfyValidate) {
  auto result = parse_config(kMinimal);
  ASSERT_TRUE(result);
  Config config = *result;
  fake_env()["TURNPIKE_REST_SECRETS"] = " first , ,second,,  third  ";
  apply_env_overrides(config, fake_getenv);
  ASSERT_EQ(config.auth.rest_secrets.size(), 3U);
  EXPECT_EQ(config.auth.rest_secrets[0].reveal(), "first");
  EXPECT_EQ(config.auth.rest_secrets[1].reveal(), "second");
  EXPECT_EQ(config.auth.rest_secrets[2].reveal(), "third");
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{});

  config = *parse_config(
      R"({"relay": {"address": "192.0.2.10"}, "auth": {"rest_secrets": ["a", "b"]}})");
  fake_env()["TURNPIKE_REST_SECRETS"] = "c";
  apply_env_overrides(config, fake_getenv);
  ASSERT_EQ(config.auth.rest_secrets.size(), 1U);
  EXPECT_EQ(config.auth.rest_secrets[0].reveal(), "c");
}

TEST_F(EnvOverrides, RealmReplacesTheFile) {
  Config config =
      *parse_config(R"({"relay": {"address": "192.0.2.10"}, "auth": {"realm": "file"}})");
  fake_env()["TURNPIKE_REALM"] = "env.example.org";
  apply_env_overrides(config, fake_getenv);
  EXPECT_EQ(config.auth.realm, "env.example.org");
  EXPECT_TRUE(config.auth.rest_secrets.empty());
}

TEST_F(EnvOverrides, UnsetOrEmptyChangesNothing) {
  Config config = *parse_config(
      R"({"relay": {"address": "192.0.2.10"}, "auth": {"realm": "file", "rest_secrets": ["a"]}})");
  apply_env_overrides(config, fake_getenv);
  fake_env()["TURNPIKE_REST_SECRETS"] = " , ";
  fake_env()["TURNPIKE_REALM"] = "";
  apply_env_overrides(config, fake_getenv);
  EXPECT_EQ(config.auth.realm, "file");
  ASSERT_EQ(config.auth.rest_secrets.size(), 1U);
  EXPECT_EQ(config.auth.rest_secrets[0].reveal(), "a");
}

TEST_F(EnvOverrides, NullGetenvUsesTheProcessEnvironment) {
  Config config = *parse_config(kMinimal);
  ASSERT_EQ(setenv("TURNPIKE_REALM", "process.example", 1), 0);
  apply_env_overrides(config, nullptr);
  unsetenv("TURNPIKE_REALM");
  EXPECT_EQ(config.auth.realm, "process.example");
}

}  // namespace
}  // namespace turnpike::config
