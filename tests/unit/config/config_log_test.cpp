// log.*: the level.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

TEST(ConfigLoader, BadLogLevel) {
  EXPECT_EQ(
      parse_errors(R"({"relay": {"address": "192.0.2.10"}, "log": {"level": "verbose"}})"),
      std::vector<std::string>{
          R"(log.level: "verbose" is not one of trace, debug, info, warn, error, critical, off)"});
}

}  // namespace
}  // namespace turnpike::config
