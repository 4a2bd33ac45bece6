// allocation.*: lifetimes and quotas.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

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

TEST(ConfigAllocation, MaxPerLabelDefaultsToNoLimitOfItsOwn) {
  auto defaults = parse_config(kMinimal);
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->allocation.max_per_label, 0U);
  auto set = parse_config(R"({"relay": {"address": "192.0.2.10"}, "auth": {"rest_secrets": ["s"]},
      "allocation": {"max_per_label": 250}})");
  ASSERT_TRUE(set) << join(set.error().messages);
  EXPECT_EQ(set->allocation.max_per_label, 250U);
  ConfigErrors errors;
  validate(*set, errors);
  EXPECT_TRUE(errors.messages.empty()) << join(errors.messages);
  EXPECT_EQ(parse_errors(R"({"relay": {"address": "192.0.2.10"},
                             "allocation": {"max_per_label": -1}})"),
            std::vector<std::string>{"allocation.max_per_label: -1 is out of range 0-4294967295"});
}

}  // namespace
}  // namespace turnpike::config
