// listeners[]: default listeners, transports, addresses, ports, duplicates.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

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

TEST(ConfigValidate, ListenerChecks) {
  Config config = valid_config();
  config.listeners.clear();
  EXPECT_EQ(validate_errors(config),
            std::vector<std::string>{"listeners: at least one listener is required"});
  EXPECT_TRUE(has_message(
      validate_errors(R"({"relay": {"address": "192.0.2.10"}, "auth": {"rest_secrets": ["s"]},
          "listeners": [{"transport": "tcp"}, {"transport": "udp"}, {"transport": "tls", "port": 3478}]})"),
      "listeners[2]: 0.0.0.0:3478 is already used by listeners[0]"));
  config.listeners = {Listener{
      Transport::kUdp, SocketAddress{IpAddress::v4(127, 0, 0, 1), 0}, false, false, false, {}}};
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{"listeners[0].port: must not be 0"});
}

// PROXY headers are trusted only from the proxies named in proxy_protocol_from: required with
// proxy_protocol, CIDRs, and meaningless without it.
constexpr std::string_view kProxyHead =
    R"({"relay": {"address": "192.0.2.10"}, "auth": {"static_users": {"u": "p"}}, "listeners": )";

std::string with_listeners(std::string_view listeners) {
  return std::string(kProxyHead) + std::string(listeners) + "}";
}

TEST(ConfigListeners, ProxyProtocolFromIsRead) {
  auto c = parse_config(with_listeners(
      R"([{"transport": "tcp", "proxy_protocol": true,
           "proxy_protocol_from": ["127.0.0.1", "10.0.0.0/8", "::1/128"]}])"));
  ASSERT_TRUE(c) << join(c.error().messages);
  ASSERT_EQ(c->listeners.size(), 1U);
  EXPECT_TRUE(c->listeners[0].proxy_protocol);
  EXPECT_EQ(c->listeners[0].proxy_protocol_from,
            (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8", "::1/128"}));
  EXPECT_TRUE(validate_errors(*c).empty()) << join(validate_errors(*c));
}

TEST(ConfigListeners, ProxyProtocolRequiresTrustedSources) {
  EXPECT_EQ(
      validate_errors(with_listeners(R"([{"transport": "tcp", "proxy_protocol": true}])")),
      std::vector<std::string>{
          R"(listeners[0].proxy_protocol_from: required when proxy_protocol is true: the CIDRs )"
          R"(of the proxies allowed to send the PROXY header (e.g. ["127.0.0.1/32"]))"});
  EXPECT_TRUE(has_message(
      validate_errors(with_listeners(
          R"([{"transport": "udp"}, {"transport": "tcp", "proxy_protocol": true,
              "proxy_protocol_from": []}])")),
      R"(listeners[1].proxy_protocol_from: required when proxy_protocol is true: the CIDRs )"
      R"(of the proxies allowed to send the PROXY header (e.g. ["127.0.0.1/32"]))"));
  EXPECT_EQ(validate_errors(
                with_listeners(R"([{"transport": "tcp", "proxy_protocol_from": ["10.0.0.1"]}])")),
            std::vector<std::string>{
                R"(listeners[0].proxy_protocol_from: only applies with "proxy_protocol": true)"});
}

TEST(ConfigListeners, ProxyProtocolFromBadEntries) {
  EXPECT_EQ(parse_errors(with_listeners(
                R"([{"transport": "tcp", "proxy_protocol": true,
                     "proxy_protocol_from": ["10.0.0.1/8", "proxy.example", 5]}])")),
            (std::vector<std::string>{
                R"(listeners[0].proxy_protocol_from[0]: "10.0.0.1/8" is not a CIDR range)",
                R"(listeners[0].proxy_protocol_from[1]: "proxy.example" is not a CIDR range)",
                "listeners[0].proxy_protocol_from[2]: expected a string, got integer"}));
  EXPECT_EQ(
      parse_errors(with_listeners(
          R"([{"transport": "tcp", "proxy_protocol": true, "proxy_protocol_from": "::1"}])")),
      std::vector<std::string>{"listeners[0].proxy_protocol_from: expected an array, got string"});
  Config config = valid_config();
  ASSERT_EQ(config.listeners[1].transport, Transport::kTcp);  // the default UDP + TCP
  config.listeners[1].proxy_protocol = true;
  config.listeners[1].proxy_protocol_from = {"not a cidr"};
  EXPECT_EQ(validate_errors(config),
            std::vector<std::string>{
                R"(listeners[1].proxy_protocol_from[0]: "not a cidr" is not a CIDR range)"});
}

}  // namespace
}  // namespace turnpike::config
