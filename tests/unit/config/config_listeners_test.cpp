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
  config.listeners = {Listener{Transport::kUdp, SocketAddress{IpAddress::v4(127, 0, 0, 1), 0},
                               false, false, false}};
  EXPECT_EQ(validate_errors(config), std::vector<std::string>{"listeners[0].port: must not be 0"});
}

}  // namespace
}  // namespace turnpike::config
