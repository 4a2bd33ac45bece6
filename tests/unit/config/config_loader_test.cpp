#include "turnpike/config/config_loader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace turnpike::config {
namespace {

// The smallest document without parse errors: relay.address is the one required key.
constexpr std::string_view kMinimal = R"({"relay": {"address": "192.0.2.10"}})";

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "\n  " + line;
  return out;
}

// Messages from parse_config (empty when it succeeded).
std::vector<std::string> parse_errors(std::string_view json) {
  auto result = parse_config(json);
  return result ? std::vector<std::string>{} : result.error().messages;
}

// Messages from validate() on a config that must parse.
std::vector<std::string> validate_errors(std::string_view json) {
  auto result = parse_config(json);
  if (!result) {
    ADD_FAILURE() << "unexpected parse errors:" << join(result.error().messages);
    return {};
  }
  ConfigErrors errors;
  validate(*result, errors);
  return errors.messages;
}

::testing::AssertionResult has_message(const std::vector<std::string>& messages,
                                       std::string_view expected) {
  for (const std::string& m : messages) {
    if (m == expected) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no message \"" << expected << "\" in:" << join(messages);
}

// A config that validates: what most validate() tests start from.
Config valid_config() {
  auto result =
      parse_config(R"({"relay": {"address": "192.0.2.10"}, "auth": {"static_users": {"u": "p"}}})");
  EXPECT_TRUE(result) << join(result.error().messages);
  return *result;
}

std::vector<std::string> validate_errors(const Config& config) {
  ConfigErrors errors;
  validate(config, errors);
  return errors.messages;
}

// ---- defaults and the example ----

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

TEST(ConfigLoader, DefaultListenersIncludeTls443WhenTlsIsConfigured) {
  auto result = parse_config(R"({"relay": {"address": "192.0.2.10"},
    "tls": {"certificate": "c.pem", "private_key": "k.pem"}})");
  ASSERT_TRUE(result) << join(result.error().messages);
  ASSERT_EQ(result->listeners.size(), 4U);
  EXPECT_EQ(result->listeners[2].transport, Transport::kTls);
  EXPECT_EQ(result->listeners[2].address.port, 5349);
  EXPECT_EQ(result->listeners[3].transport, Transport::kTls);
  EXPECT_EQ(result->listeners[3].address.port, 443);
}

TEST(ConfigLoader, TlsListenerWithoutCertificateIsAnError) {
  auto result = parse_config(R"({"relay": {"address": "192.0.2.10"},
    "auth": {"static_users": {"a": "b"}},
    "listeners": [{"transport": "tls", "address": "127.0.0.1", "port": 5349}]})");
  ASSERT_TRUE(result) << join(result.error().messages);
  EXPECT_EQ(validate_errors(*result),
            std::vector<std::string>{
                "listeners[0].transport: tls needs tls.certificate and tls.private_key"});
  auto half = parse_config(R"({"relay": {"address": "192.0.2.10"},
    "auth": {"static_users": {"a": "b"}}, "tls": {"certificate": "c.pem"}})");
  ASSERT_TRUE(half);
  EXPECT_EQ(validate_errors(*half),
            std::vector<std::string>{"tls.private_key: required with tls.certificate"});
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

// ---- parse errors, each naming its key ----

TEST(ConfigLoader, OutOfRangePort) {
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10"},
                             "listeners": [{"port": 3478}, {"port": 70000}, {"port": 0}]})"),
            (std::vector<std::string>{"listeners[1].port: 70000 is out of range 1-65535",
                                      "listeners[2].port: 0 is out of range 1-65535"}));
  EXPECT_TRUE(has_message(parse_errors(R"({"relay": {"address": "192.0.2.10", "port_min": -1}})"),
                          "relay.port_min: -1 is out of range 1-65535"));
}

TEST(ConfigLoader, BadListenerFields) {
  auto errors = parse_errors(R"({"relay": {"address": "192.0.2.10"},
      "listeners": [{"transport": "sctp", "address": "localhost"}, {"address": "1.2.3.4:5"}]})");
  EXPECT_TRUE(has_message(
      errors, R"(listeners[0].transport: "sctp" is not one of udp, tcp, tls, http, https)"));
  EXPECT_TRUE(has_message(errors, R"(listeners[0].address: "localhost" is not an IP address)"));
  EXPECT_TRUE(has_message(errors, R"(listeners[1].address: "1.2.3.4:5" is not an IP address)"));
  EXPECT_EQ(errors.size(), 3U) << join(errors);
  EXPECT_EQ(
      parse_errors(R"({"relay": {"address": "127.0.0.1\u0000junk"}})"),
      std::vector<std::string>{R"(relay.address: "127.0.0.1\u0000junk" is not an IP address)"});
}

TEST(ConfigLoader, RestSeparatorMustBeOneCharacter) {
  for (const char* separator : {R"("")", R"("::")", R"("é")"}) {
    EXPECT_EQ(parse_errors(std::string(R"({"relay": {"address": "192.0.2.10"},
                                           "auth": {"rest_separator": )") +
                           separator + "}}"),
              std::vector<std::string>{"auth.rest_separator: must be exactly one character"})
        << separator;
  }
}

TEST(ConfigLoader, BadCidr) {
  auto errors = parse_errors(R"({"relay": {"address": "192.0.2.10"},
      "peers": {"allow": ["10.0.0.0/33"], "deny": ["10.0.0.0/8", "banana", 7]}})");
  EXPECT_EQ(errors,
            (std::vector<std::string>{R"(peers.allow[0]: "10.0.0.0/33" is not a CIDR range)",
                                      R"(peers.deny[1]: "banana" is not a CIDR range)",
                                      "peers.deny[2]: expected a string, got integer"}));
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

TEST(ConfigLoader, BadLogLevel) {
  EXPECT_EQ(
      parse_errors(R"({"relay": {"address": "192.0.2.10"}, "log": {"level": "verbose"}})"),
      std::vector<std::string>{
          R"(log.level: "verbose" is not one of trace, debug, info, warn, error, critical, off)"});
}

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

// ---- validate() ----

TEST(ConfigValidate, ListenerChecks) {
  Config config = valid_config();
  config.listeners.clear();
  EXPECT_EQ(validate_errors(config),
            std::vector<std::string>{"listeners: at least one listener is required"});
  EXPECT_TRUE(has_message(
      validate_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"rest_secrets": ["s"]},
          "listeners": [{"transport": "tcp"}, {"transport": "udp"}, {"transport": "tls", "port": 3478}]})"),
      "listeners[2]: 0.0.0.0:3478 is already used by listeners[0]"));
  config.listeners = {Listener{Transport::kUdp, SocketAddress{IpAddress::v4(127, 0, 0, 1), 0},
                               false, false, false}};
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{"listeners[0].port: must not be 0"});
}

TEST(ConfigValidate, RelayAddressMustBeConcreteIpv4) {
  EXPECT_EQ(
      validate_errors(R"({"relay": {"address": "0.0.0.0"}, "auth": {"rest_secrets": ["s"]}})"),
      std::vector<std::string>{"relay.address: 0.0.0.0 is unspecified; give a concrete address"});
  EXPECT_EQ(validate_errors(R"({"relay": {"address": "::1"}, "auth": {"rest_secrets": ["s"]}})"),
            std::vector<std::string>{"relay.address: must be an IPv4 address, got ::1"});
  EXPECT_EQ(validate_errors(R"({"relay": {"address": "::"}, "auth": {"rest_secrets": ["s"]}})"),
            std::vector<std::string>{"relay.address: must be an IPv4 address, got ::"});
}

TEST(ConfigValidate, RelayFamilies) {
  auto errors = validate_errors(R"({"auth": {"rest_secrets": ["s"]},
      "relay": {"address": "192.0.2.10", "advertised_address": "2001:db8::1",
                "ipv6_address": "192.0.2.11", "advertised_ipv6_address": "::"}})");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "relay.advertised_address: must be an IPv4 address, got 2001:db8::1",
                        "relay.ipv6_address: must be an IPv6 address, got 192.0.2.11",
                        "relay.advertised_ipv6_address: :: is unspecified; give a concrete address",
                    }));
  EXPECT_EQ(validate_errors(R"({"auth": {"rest_secrets": ["s"]},
      "relay": {"address": "192.0.2.10", "advertised_ipv6_address": "2001:db8::7"}})"),
            std::vector<std::string>{"relay.advertised_ipv6_address: requires relay.ipv6_address"});
}

TEST(ConfigValidate, PortRange) {
  EXPECT_EQ(validate_errors(R"({"auth": {"rest_secrets": ["s"]},
      "relay": {"address": "192.0.2.10", "port_min": 60000, "port_max": 50000}})"),
            std::vector<std::string>{"relay.port_min: must be <= relay.port_max (60000 > 50000)"});
  EXPECT_EQ(validate_errors(R"({"auth": {"rest_secrets": ["s"]},
      "relay": {"address": "192.0.2.10", "port_min": 50000, "port_max": 50000}})"),
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

TEST(ConfigValidate, Lifetimes) {
  EXPECT_EQ(validate_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"rest_secrets": ["s"]},
      "allocation": {"default_lifetime": 700, "max_lifetime": 600}})"),
            std::vector<std::string>{
                "allocation.max_lifetime: must be >= allocation.default_lifetime (600 < 700)"});
  auto errors =
      validate_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"rest_secrets": ["s"]},
      "allocation": {"default_lifetime": 0, "permission_lifetime": 0, "channel_lifetime": 0,
                     "max_total": 0, "max_per_user": 0, "max_permissions": 0, "max_channels": 0}})");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "allocation.default_lifetime: must be > 0",
                        "allocation.permission_lifetime: must be > 0",
                        "allocation.channel_lifetime: must be > 0",
                        "allocation.max_total: must be > 0",
                        "allocation.max_per_user: must be > 0",
                        "allocation.max_permissions: must be > 0",
                        "allocation.max_channels: must be > 0",
                    }));
  EXPECT_EQ(
      parse_errors(R"({"relay": {"address": "192.0.2.10"},
                             "allocation": {"max_total": 4294967296}})"),
      std::vector<std::string>{"allocation.max_total: 4294967296 is out of range 0-4294967295"});
}

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

// ---- environment overrides ----

std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
const char* fake_getenv(const char* name) {
  const auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

class EnvOverrides : public ::testing::Test {
 protected:
  void SetUp() override { fake_env().clear(); }
  void TearDown() override { fake_env().clear(); }
};

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

// ---- credentials (the HTTP credential endpoint) ----

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
