// peers.*: CIDR lists. (peers.allow_listeners: config_limits_test.cpp.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

TEST(ConfigLoader, BadCidr) {
  auto errors = parse_errors(R"({"relay": {"address": "192.0.2.10"},
      "peers": {"allow": ["10.0.0.0/33"], "deny": ["10.0.0.0/8", "banana", 7]}})");
  EXPECT_EQ(errors,
            (std::vector<std::string>{R"(peers.allow[0]: "10.0.0.0/33" is not a CIDR range)",
                                      R"(peers.deny[1]: "banana" is not a CIDR range)",
                                      "peers.deny[2]: expected a string, got integer"}));
}

}  // namespace
}  // namespace turnpike::config
