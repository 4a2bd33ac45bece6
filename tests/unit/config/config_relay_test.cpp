// relay.*: concrete addresses of the right family, the port range.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

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

}  // namespace
}  // namespace turnpike::config
