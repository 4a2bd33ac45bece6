// The whole document and the file: defaults, the example config, every key at once, types,
// unknown and duplicate keys, syntax errors, secrets kept out of messages, file errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

TEST(ConfigLoader, EmptyObjectOnlyLacksRelayAddress) {
  EXPECT_EQ(parse_errors("{}"), std::vector<std::string>{"relay.address: required"});
  EXPECT_EQ(parse_errors(R"({"relay": {}})"), std::vector<std::string>{"relay.address: required"});
}

TEST(ConfigLoader, DefaultsFromMinimalDocument) {
  auto result = parse_config(kMinimal);
  ASSERT_TRUE(result) << join(result.error().messages);
  const Config& c = *result;
  // Without TLS configured: UDP and TCP on 3478.
  ASSERT_EQ(c.listeners.size(), 2U);
  EXPECT_EQ(c.listeners[0].transport, Transport::kUdp);
  EXPECT_EQ(c.listeners[0].address, *SocketAddress::parse("0.0.0.0:3478"));
  EXPECT_EQ(c.listeners[1].transport, Transport::kTcp);
  EXPECT_EQ(c.listeners[1].address, *SocketAddress::parse("0.0.0.0:3478"));
  EXPECT_TRUE(c.tls.certificate.empty());
  EXPECT_EQ(c.tls.handshake_timeout_s, 10U);
  EXPECT_TRUE(c.user.empty());
  EXPECT_EQ(c.relay.address, IpAddress::v4(192, 0, 2, 10));
  EXPECT_FALSE(c.relay.advertised_address);
  EXPECT_FALSE(c.relay.ipv6_address);
  EXPECT_FALSE(c.relay.advertised_ipv6_address);
  EXPECT_EQ(c.relay.port_min, 49152);
  EXPECT_EQ(c.relay.port_max, 65535);
  EXPECT_EQ(c.auth.realm, "turnpike");
  EXPECT_TRUE(c.auth.static_users.empty());
  EXPECT_TRUE(c.auth.rest_secrets.empty());
  EXPECT_EQ(c.auth.rest_separator, ':');
  EXPECT_EQ(c.auth.nonce_lifetime_s, 600U);
  EXPECT_TRUE(c.auth.password_algorithms);
  EXPECT_EQ(c.allocation.default_lifetime_s, 600U);
  EXPECT_EQ(c.allocation.max_lifetime_s, 3600U);
  EXPECT_EQ(c.allocation.permission_lifetime_s, 300U);
  EXPECT_EQ(c.allocation.channel_lifetime_s, 600U);
  EXPECT_EQ(c.allocation.max_total, 10000U);
  EXPECT_EQ(c.allocation.max_per_user, 100U);
  EXPECT_EQ(c.allocation.max_permissions, 128U);
  EXPECT_EQ(c.allocation.max_channels, 128U);
  EXPECT_TRUE(c.peers.allow.empty());
  EXPECT_TRUE(c.peers.deny.empty());
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.software, "turnpike");
  // Without credentials it parses but does not validate.
  EXPECT_EQ(validate_errors(c),
            std::vector<std::string>{"auth: no credentials configured: set auth.static_users or "
                                     "auth.rest_secrets (or TURNPIKE_REST_SECRETS)"});
}

TEST(ConfigLoader, ExampleFileParsesAndValidates) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "../../../config/turnpike.json";
  auto result = load_config_file(path.string());
  ASSERT_TRUE(result) << join(result.error().messages);
  EXPECT_EQ(validate_errors(*result), std::vector<std::string>{});
  const Config& c = *result;
  ASSERT_EQ(c.listeners.size(), 1U);
  EXPECT_EQ(c.listeners[0].address, *SocketAddress::parse("127.0.0.1:3478"));
  EXPECT_EQ(c.relay.address, IpAddress::v4(127, 0, 0, 1));
  EXPECT_EQ(c.peers.allow, std::vector<std::string>{"127.0.0.0/8"});
  EXPECT_EQ(c.auth.static_users.size(), 1U);
  ASSERT_EQ(c.auth.rest_secrets.size(), 1U);
  EXPECT_EQ(c.auth.rest_secrets[0].reveal().substr(0, 10), "change-me-");
}

TEST(ConfigLoader, EveryKeyIsRead) {
  auto result = parse_config(R"({
    "listeners": [{"transport": "tcp", "address": "::1", "port": 3479},
                  {"transport": "tls", "address": "192.0.2.1"},
                  {}],
    "relay": {"address": "192.0.2.10", "advertised_address": "198.51.100.7",
              "ipv6_address": "2001:db8::10", "advertised_ipv6_address": "2001:db8::7",
              "port_min": 50000, "port_max": 50100},
    "auth": {"realm": "example.org", "static_users": {"alice": "pw1", "bob": "pw2"},
             "rest_secrets": ["s1", "s2"], "rest_separator": "|", "nonce_lifetime": 30,
             "password_algorithms": false},
    "allocation": {"default_lifetime": 60, "max_lifetime": 120, "permission_lifetime": 30,
                   "channel_lifetime": 90, "max_total": 5, "max_per_user": 2,
                   "max_permissions": 3, "max_channels": 4},
    "peers": {"allow": ["10.1.0.0/16"], "deny": ["203.0.113.0/24", "2001:db8::/32"]},
    "tls": {"certificate": "/etc/tp/chain.pem", "private_key": "/etc/tp/key.pem",
            "handshake_timeout": 7},
    "user": "turnpike", "group": "nogroup",
    "log": {"level": "debug"},
    "software": ""
  })");
  ASSERT_TRUE(result) << join(result.error().messages);
  const Config& c = *result;
  EXPECT_EQ(c.tls.certificate, "/etc/tp/chain.pem");
  EXPECT_EQ(c.tls.private_key, "/etc/tp/key.pem");
  EXPECT_EQ(c.tls.handshake_timeout_s, 7U);
  EXPECT_EQ(c.user, "turnpike");
  EXPECT_EQ(c.group, "nogroup");
  ASSERT_EQ(c.listeners.size(), 3U);
  EXPECT_EQ(c.listeners[0].transport, Transport::kTcp);
  EXPECT_EQ(c.listeners[0].address, *SocketAddress::parse("[::1]:3479"));
  EXPECT_EQ(c.listeners[1].transport, Transport::kTls);
  EXPECT_EQ(c.listeners[1].address, *SocketAddress::parse("192.0.2.1:5349"));  // TLS default
  EXPECT_EQ(c.listeners[2].transport, Transport::kUdp);
  EXPECT_EQ(c.listeners[2].address, *SocketAddress::parse("0.0.0.0:3478"));
  EXPECT_EQ(c.relay.advertised_address, IpAddress::parse("198.51.100.7"));
  EXPECT_EQ(c.relay.ipv6_address, IpAddress::parse("2001:db8::10"));
  EXPECT_EQ(c.relay.advertised_ipv6_address, IpAddress::parse("2001:db8::7"));
  EXPECT_EQ(c.relay.port_min, 50000);
  EXPECT_EQ(c.relay.port_max, 50100);
  EXPECT_EQ(c.auth.realm, "example.org");
  ASSERT_EQ(c.auth.static_users.size(), 2U);
  EXPECT_EQ(c.auth.static_users.at("bob").reveal(), "pw2");
  ASSERT_EQ(c.auth.rest_secrets.size(), 2U);
  EXPECT_EQ(c.auth.rest_secrets[1].reveal(), "s2");
  EXPECT_EQ(c.auth.rest_separator, '|');
  EXPECT_EQ(c.auth.nonce_lifetime_s, 30U);
  EXPECT_FALSE(c.auth.password_algorithms);
  EXPECT_EQ(c.allocation.default_lifetime_s, 60U);
  EXPECT_EQ(c.allocation.max_lifetime_s, 120U);
  EXPECT_EQ(c.allocation.permission_lifetime_s, 30U);
  EXPECT_EQ(c.allocation.channel_lifetime_s, 90U);
  EXPECT_EQ(c.allocation.max_total, 5U);
  EXPECT_EQ(c.allocation.max_per_user, 2U);
  EXPECT_EQ(c.allocation.max_permissions, 3U);
  EXPECT_EQ(c.allocation.max_channels, 4U);
  EXPECT_EQ(c.peers.allow, std::vector<std::string>{"10.1.0.0/16"});
  EXPECT_EQ(c.peers.deny, (std::vector<std::string>{"203.0.113.0/24", "2001:db8::/32"}));
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.software, "");
  EXPECT_EQ(validate_errors(c), std::vector<std::string>{});
}

// ---- parse errors in several sections at once ----

TEST(ConfigLoader, WrongTypes) {
  auto errors = parse_errors(R"({
    "listeners": {"port": 1},
    "relay": {"address": 127001, "port_max": "65535"},
    "auth": {"nonce_lifetime": "600", "password_algorithms": 1, "realm": null,
             "rest_secrets": "s", "static_users": ["u"]},
    "allocation": {"max_total": 1.5, "default_lifetime": 1e3},
    "peers": [],
    "log": "info",
    "software": false
  })");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "listeners: expected an array, got object",
                        "relay.address: expected a string, got integer",
                        "relay.port_max: expected an integer, got string",
                        "auth.realm: expected a string, got null",
                        "auth.static_users: expected an object, got array",
                        "auth.rest_secrets: expected an array, got string",
                        "auth.nonce_lifetime: expected an integer, got string",
                        "auth.password_algorithms: expected a boolean, got integer",
                        "allocation.default_lifetime: expected an integer, got float",
                        "allocation.max_total: expected an integer, got float",
                        "peers: expected an object, got array",
                        "log: expected an object, got string",
                        "software: expected a string, got boolean",
                    }));
  EXPECT_EQ(parse_errors("[]"), std::vector<std::string>{"(root): expected an object, got array"});
  EXPECT_EQ(parse_errors(R"({"relay": 1})"),
            std::vector<std::string>{"relay: expected an object, got integer"});
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10"}, "listeners": [1]})"),
            std::vector<std::string>{"listeners[0]: expected an object, got integer"});
}

TEST(ConfigLoader, UnknownKeysAnywhere) {
  auto errors = parse_errors(R"({
    "relay": {"address": "192.0.2.10", "adress": "x"},
    "auth": {"relam": "x"},
    "listeners": [{"prot": 1}],
    "allocation": {"lifetime": 1},
    "peers": {"allowed": []},
    "log": {"file": "/tmp/x"},
    "extra": {"nested": true},
    "odd key\n": 1
  })");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        R"(listeners[0].prot: unknown key (did you mean "port"?))",
                        R"(relay.adress: unknown key (did you mean "address"?))",
                        R"(auth.relam: unknown key (did you mean "realm"?))",
                        "allocation.lifetime: unknown key",
                        R"(peers.allowed: unknown key (did you mean "allow"?))",
                        "log.file: unknown key",
                        "extra: unknown key",
                        R"(["odd key\n"]: unknown key)",
                    }));
}

TEST(ConfigLoader, DuplicateKeys) {
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10"},
                             "listeners": [{}, {"port": 1, "port": 2}],
                             "auth": {"realm": "a"}, "auth": {"realm": "b", "realm": "c"}})"),
            (std::vector<std::string>{"listeners[1].port: duplicate key", "auth: duplicate key",
                                      "auth.realm: duplicate key"}));
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10"},
                             "auth": {"static_users": {"bob": "x", "bob": "y"}}})"),
            std::vector<std::string>{"auth.static_users.bob: duplicate key"});
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10"},
                             "x": [1, [2, {"a": 1, "a": 2}]]})"),
            (std::vector<std::string>{"x[1][1].a: duplicate key", "x: unknown key"}));
}

TEST(ConfigLoader, SyntaxErrorsNameTheBytePosition) {
  auto errors = parse_errors("{\n  \"relay\": {\"address\": \"192.0.2.10\",}\n}");
  ASSERT_EQ(errors.size(), 1U) << join(errors);
  EXPECT_EQ(errors[0],
            "(root): parse error at line 2, column 37 (byte 39): syntax error while parsing object "
            "key - unexpected '}'; expected string literal");
  errors = parse_errors("");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].rfind("(root): parse error", 0), 0U) << errors[0];
  errors = parse_errors(R"({"relay": {"address": "192.0.2.10"}} trailing)");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(
      errors[0],
      "(root): parse error at line 1, column 40 (byte 40): syntax error while parsing value - "
      "invalid literal; expected end of input");
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10", "port_min": 1e400}})"),
            std::vector<std::string>{"(root): a number is too large to represent"});
  // Comments are not JSON.
  EXPECT_EQ(parse_errors("// c\n{}").size(), 1U);
}

TEST(ConfigLoader, ReportsEveryProblemAtOnce) {
  auto errors = parse_errors(R"({
    "listeners": [{"port": 70000}],
    "auth": {"relam": "x", "rest_separator": "::", "nonce_lifetime": "600"},
    "peers": {"allow": ["10.0.0.0/33"]}
  })");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "listeners[0].port: 70000 is out of range 1-65535",
                        "auth.rest_separator: must be exactly one character",
                        "auth.nonce_lifetime: expected an integer, got string",
                        R"(auth.relam: unknown key (did you mean "realm"?))",
                        R"(peers.allow[0]: "10.0.0.0/33" is not a CIDR range)",
                        "relay.address: required",
                    }));
}

// ---- secrets never reach an error message ----

TEST(ConfigLoader, SecretsNeverAppearInErrors) {
  const std::vector<std::string> documents = {
      // Syntax errors whose offending token is inside a secret.
      R"({"auth": {"rest_secrets": ["hunter2\q"]}})",
      R"({"auth": {"rest_secrets": ["hunter2)",
      "{\"auth\": {\"static_users\": {\"bob\": \"hunter2\n\"}}}",
      R"({"auth": {"static_users": {"bob": "hunter2"x}}})",
      R"({"auth": {"static_users": {"bob": "hunter2" "x": 1}}})",
      // Secrets next to other errors.
      R"({"auth": {"rest_secrets": ["hunter2", 5], "static_users": {"bob": "hunter2", "eve": 1},
                   "rest_separator": "hunter2", "relam": "hunter2"}})",
  };
  for (const std::string& doc : documents) {
    auto errors = parse_errors(doc);
    EXPECT_FALSE(errors.empty()) << doc;
    for (const std::string& e : errors) {
      EXPECT_EQ(e.find("hunter"), std::string::npos) << e;
    }
  }
  // validate() on bad credentials does not echo them either.
  Config config = valid_config();
  config.auth.static_users["bob"] = Secret("");
  config.auth.rest_secrets = {Secret("hunter2"), Secret("")};
  config.auth.realm = "";
  auto errors = validate_errors(config);
  EXPECT_TRUE(has_message(errors, "auth.static_users.bob: password must not be empty"));
  EXPECT_TRUE(has_message(errors, "auth.rest_secrets[1]: must not be empty"));
  for (const std::string& e : errors) EXPECT_EQ(e.find("hunter"), std::string::npos) << e;
}

TEST(ConfigLoader, SyntaxErrorKeepsWhatWasExpected) {
  auto errors = parse_errors(R"({"a": "hunter2\q"})");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(
      errors[0],
      "(root): parse error at line 1, column 16 (byte 16): syntax error while parsing value - "
      "invalid string: forbidden character after backslash");
  errors = parse_errors(R"({"hunter2\q": 1})");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0],
            "(root): parse error at line 1, column 11 (byte 11): syntax error while parsing object "
            "key - invalid string: forbidden character after backslash; expected string literal");
}

// ---- validate() across sections ----

TEST(ConfigValidate, FieldChecksCoverProgrammaticConfigs) {
  Config config = valid_config();
  config.auth.realm = std::string(128, 'r');
  config.auth.nonce_lifetime_s = 10;
  config.auth.static_users[""] = Secret("p");
  config.peers.allow = {"10.0.0.0/8", "nope"};
  config.peers.deny = {"1.2.3.4/40"};
  config.log.level = "loud";
  config.software = std::string(128, 's');
  EXPECT_EQ(validate_errors(config),
            (std::vector<std::string>{
                "auth.realm: must be fewer than 128 characters",
                R"(auth.static_users[""]: user name must not be empty)",
                "auth.nonce_lifetime: 10 is out of range 30-86400",
                R"(peers.allow[1]: "nope" is not a CIDR range)",
                R"(peers.deny[0]: "1.2.3.4/40" is not a CIDR range)",
                R"(log.level: "loud" is not one of trace, debug, info, warn, error, critical, off)",
                "software: must be fewer than 128 characters",
            }));
  config = valid_config();
  config.auth.realm = "";
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{"auth.realm: must not be empty"});
  // 127 two-byte characters are fine: the limit counts characters, not bytes.
  std::string realm;
  for (int i = 0; i < 127; ++i) realm += "é";
  config.auth.realm = realm;
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{});
}

// ---- files ----

TEST(ConfigFile, MissingFileIsOneErrorNamingThePath) {
  const std::string path = "/nonexistent/turnpike-test.json";
  EXPECT_EQ(load_config_file(path).error().messages,
            std::vector<std::string>{path + ": cannot open: No such file or directory"});
  EXPECT_EQ(load_config_file("/").error().messages,
            std::vector<std::string>{"/: is a directory, not a config file"});
}

TEST(ConfigFile, ReadsAndParses) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("turnpike-config-test-" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out(path);
    out << R"({"relay": {"address": "192.0.2.10"}, "auth": {"relam": "x"}})";
  }
  auto result = load_config_file(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().messages,
            std::vector<std::string>{R"(auth.relam: unknown key (did you mean "realm"?))"});
}

}  // namespace
}  // namespace turnpike::config
