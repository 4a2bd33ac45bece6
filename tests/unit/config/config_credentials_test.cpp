// credentials.* (the HTTP credential endpoint) and the environment override TURNPIKE_API_KEYS.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

TEST(ConfigCredentials, DefaultsLeaveTheEndpointOff) {
  auto result = parse_config(kMinimal);
  ASSERT_TRUE(result);
  const CredentialsConfig& c = result->credentials;
  EXPECT_EQ(c.path, "/turn-credentials");
  EXPECT_TRUE(c.api_keys.empty());
  EXPECT_FALSE(c.anonymous);
  EXPECT_FALSE(c.enabled());
  EXPECT_TRUE(c.cors_origins.empty());
  EXPECT_EQ(c.ttl_s, 86400U);
  EXPECT_EQ(c.max_ttl_s, 86400U);
  EXPECT_TRUE(c.hosts.empty());
  EXPECT_TRUE(c.extra_urls.empty());
  EXPECT_EQ(c.rate_limit.per_ip_per_minute, 60U);
  EXPECT_EQ(c.rate_limit.per_key_per_minute, 600U);
  // Off, it needs neither hosts nor secrets.
  EXPECT_EQ(validate_errors(valid_config()), std::vector<std::string>{});
}

TEST(ConfigCredentials, EveryKeyIsRead) {
  auto result = parse_config(R"({"relay": {"address": "192.0.2.10"},
    "auth": {"rest_secrets": ["s"]},
    "credentials": {"path": "/ice", "anonymous": true,
      "api_keys": [{"label": "mobile-app", "key": "mobile-key-0123456789"},
                   {"key": "web-key-0123456789abc", "label": "web.v2"}],
      "cors_origins": ["https://app.example.com", "*"], "ttl": 3600, "max_ttl": 7200,
      "hosts": ["turn.example.com", "2001:db8::1", "192.0.2.10"],
      "extra_urls": ["turn:turn.example.com:80?transport=tcp", "stun:turn.example.com:53"],
      "rate_limit": {"per_ip_per_minute": 0, "per_key_per_minute": 1000}}})");
  ASSERT_TRUE(result) << join(result.error().messages);
  const CredentialsConfig& c = result->credentials;
  EXPECT_EQ(c.path, "/ice");
  EXPECT_TRUE(c.anonymous);
  ASSERT_EQ(c.api_keys.size(), 2U);
  EXPECT_EQ(c.api_keys[0].label, "mobile-app");
  EXPECT_EQ(c.api_keys[0].key.reveal(), "mobile-key-0123456789");
  EXPECT_EQ(c.api_keys[1].label, "web.v2");
  EXPECT_EQ(c.cors_origins, (std::vector<std::string>{"https://app.example.com", "*"}));
  EXPECT_EQ(c.ttl_s, 3600U);
  EXPECT_EQ(c.max_ttl_s, 7200U);
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"turn.example.com", "2001:db8::1", "192.0.2.10"}));
  EXPECT_EQ(c.extra_urls.size(), 2U);
  EXPECT_EQ(c.rate_limit.per_ip_per_minute, 0U);
  EXPECT_EQ(c.rate_limit.per_key_per_minute, 1000U);
  EXPECT_TRUE(c.enabled());
  EXPECT_EQ(validate_errors(*result), std::vector<std::string>{});
}

TEST(ConfigCredentials, ParseErrorsNameTheKey) {
  auto errors = parse_errors(R"({"relay": {"address": "192.0.2.10"},
    "credentials": {"path": 1, "anonymous": "yes", "api_keys": [{"label": "a"}, {"key": "hunter2"},
                    {"label": "b", "key": 5, "extra": 1}, "hunter2"],
      "cors_origins": "*", "ttl": 0, "max_ttl": 999999999, "hosts": [1], "extra_urls": {},
      "rate_limit": {"per_ip": 1, "per_key_per_minute": -1}, "tll": 1}})");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "credentials.path: expected a string, got integer",
                        "credentials.api_keys[0].key: required",
                        "credentials.api_keys[1].label: required",
                        "credentials.api_keys[2].key: expected a string, got integer",
                        "credentials.api_keys[2].extra: unknown key",
                        "credentials.api_keys[3]: expected an object, got string",
                        "credentials.anonymous: expected a boolean, got string",
                        "credentials.cors_origins: expected an array, got string",
                        "credentials.ttl: 0 is out of range 1-604800",
                        "credentials.max_ttl: 999999999 is out of range 1-604800",
                        "credentials.hosts[0]: expected a string, got integer",
                        "credentials.extra_urls: expected an array, got object",
                        "credentials.rate_limit.per_key_per_minute: -1 is out of range 0-1000000",
                        "credentials.rate_limit.per_ip: unknown key",
                        R"(credentials.tll: unknown key (did you mean "ttl"?))",
                    }))
      << join(errors);
  for (const std::string& e : errors) EXPECT_EQ(e.find("hunter"), std::string::npos) << e;
}

TEST(ConfigCredentials, ValidateChecksEveryField) {
  Config config = valid_config();  // static users only: no REST secret
  CredentialsConfig& c = config.credentials;
  c.path = "turn-credentials";
  c.api_keys = {{"ok", Secret("hunter2-hunter2-hunter2")},
                {"bad label!", Secret("hunter2-hunter2-hunter3")},
                {"", Secret("hunter2-hunter2-hunter4")},
                {"short", Secret("hunter2")},
                {"empty", Secret("")},
                {"dup", Secret("hunter2-hunter2-hunter2")},
                {std::string(65, 'l'), Secret("hunter2-hunter2-hunter5")}};
  c.ttl_s = 7200;
  c.max_ttl_s = 3600;
  c.hosts = {"turn.example.com", "bad host", "[2001:db8::1]", "-x", "http://h"};
  c.extra_urls = {"turn:h:80?transport=tcp", "http://h", "turn:h :1"};
  c.cors_origins = {"*", "https://app.example.com:8443", "https://app.example.com/", "app.com"};
  EXPECT_EQ(
      validate_errors(config),
      (std::vector<std::string>{
          "credentials.path: must start with '/'",
          "credentials.api_keys[1].label: must be 1-64 characters of A-Z a-z 0-9 . _ -",
          "credentials.api_keys[2].label: must not be empty (TURNPIKE_API_KEYS items are "
          "label:key)",
          "credentials.api_keys[3].key: must be at least 16 characters",
          "credentials.api_keys[4].key: must not be empty",
          "credentials.api_keys[5].key: same key as credentials.api_keys[0]",
          "credentials.api_keys[6].label: must be 1-64 characters of A-Z a-z 0-9 . _ -",
          "credentials: the credential endpoint (api_keys or anonymous) mints REST "
          "credentials and needs auth.rest_secrets (or TURNPIKE_REST_SECRETS)",
          "credentials.ttl: must be <= credentials.max_ttl (7200 > 3600)",
          R"(credentials.hosts[1]: "bad host" is not a host name or IP address)",
          R"(credentials.hosts[3]: "-x" is not a host name or IP address)",
          R"(credentials.hosts[4]: "http://h" is not a host name or IP address)",
          R"(credentials.extra_urls[1]: "http://h" is not a stun:, stuns:, turn: or turns: URL)",
          R"(credentials.extra_urls[2]: "turn:h :1" is not a stun:, stuns:, turn: or turns: URL)",
          R"(credentials.cors_origins[2]: "https://app.example.com/" is not an origin ("https://host[:port]" or "*"))",
          R"(credentials.cors_origins[3]: "app.com" is not an origin ("https://host[:port]" or "*"))",
      }));
  for (const std::string& e : validate_errors(config)) {
    EXPECT_EQ(e.find("hunter"), std::string::npos) << e;
  }
}

TEST(ConfigCredentials, EnabledEndpointNeedsHostsAndSecrets) {
  Config config = valid_config();
  config.credentials.anonymous = true;
  EXPECT_EQ(validate_errors(config),
            (std::vector<std::string>{
                "credentials: the credential endpoint (api_keys or anonymous) mints REST "
                "credentials and needs auth.rest_secrets (or TURNPIKE_REST_SECRETS)",
                "credentials.hosts: at least one host is required when the credential endpoint is "
                "enabled (api_keys or anonymous)",
            }));
  config.auth.rest_secrets = {Secret("s")};
  config.credentials.hosts = {"turn.example.com"};
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{});
  for (const std::string path : {"/healthz", "/metrics"}) {
    config.credentials.path = path;
    EXPECT_EQ(validate_errors(config),
              std::vector<std::string>{"credentials.path: " + path + " is reserved"});
  }
  config.credentials.path = "/a?b";
  EXPECT_EQ(validate_errors(config),
            std::vector<std::string>{
                "credentials.path: must be a plain path (no query, fragment or spaces)"});
}

TEST_F(EnvOverrides, ApiKeysReplaceTheFile) {
  Config config = *parse_config(R"({"relay": {"address": "192.0.2.10"},
    "auth": {"rest_secrets": ["s"]},
    "credentials": {"hosts": ["turn.example.com"],
                    "api_keys": [{"label": "file", "key": "file-key-0123456789"}]}})");
  fake_env()["TURNPIKE_API_KEYS"] =
      " mobile-app:mobile-key-0123456789 ,,web : key:with:colons-0123 ";
  apply_env_overrides(config, fake_getenv);
  ASSERT_EQ(config.credentials.api_keys.size(), 2U);
  EXPECT_EQ(config.credentials.api_keys[0].label, "mobile-app");
  EXPECT_EQ(config.credentials.api_keys[0].key.reveal(), "mobile-key-0123456789");
  EXPECT_EQ(config.credentials.api_keys[1].label, "web");
  EXPECT_EQ(config.credentials.api_keys[1].key.reveal(), "key:with:colons-0123");
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{});

  // An item without a label is reported by validate() without echoing it.
  fake_env()["TURNPIKE_API_KEYS"] = "hunter2-hunter2-hunter2";
  apply_env_overrides(config, fake_getenv);
  const auto errors = validate_errors(config);
  EXPECT_EQ(errors, std::vector<std::string>{"credentials.api_keys[0].label: must not be empty "
                                             "(TURNPIKE_API_KEYS items are label:key)"});

  // Unset or blank changes nothing.
  fake_env()["TURNPIKE_API_KEYS"] = " , ";
  apply_env_overrides(config, fake_getenv);
  EXPECT_EQ(config.credentials.api_keys.size(), 1U);
}

}  // namespace
}  // namespace turnpike::config
