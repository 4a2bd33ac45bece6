// The abuse-limit keys (limits.*, shutdown.grace_period, peers.allow_listeners): defaults, reading,
// and one error per bad key.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

std::string document(std::string_view extra) {
  return R"({"relay": {"address": "192.0.2.10"}, "auth": {"static_users": {"u": "p"}})" +
         std::string(extra.empty() ? "" : ", ") + std::string(extra) + "}";
}

// parse + validate messages.
std::vector<std::string> errors_of(std::string_view extra) {
  auto parsed = parse_config(document(extra));
  if (!parsed) return parsed.error().messages;
  ConfigErrors errors;
  validate(*parsed, errors);
  return errors.messages;
}

TEST(ConfigLimits, SecureDefaults) {
  auto c = parse_config(document(""));
  ASSERT_TRUE(c) << join(c.error().messages);
  EXPECT_EQ(c->limits.max_connections, 10000U);
  EXPECT_EQ(c->limits.max_connections_per_ip, 64U);
  EXPECT_EQ(c->limits.max_bandwidth_per_allocation, 12'500'000U);
  EXPECT_EQ(c->limits.unauthenticated_requests_per_second, 50U);
  EXPECT_EQ(c->limits.unauthenticated_burst, 100U);
  EXPECT_EQ(c->shutdown.grace_period_s, 0U);
  EXPECT_FALSE(c->peers.allow_listeners);
}

TEST(ConfigLimits, EveryKeyIsRead) {
  auto c = parse_config(document(R"(
    "limits": {"max_connections": 500, "max_connections_per_ip": 8,
               "max_bandwidth_per_allocation": 0, "unauthenticated_requests_per_second": 5,
               "unauthenticated_burst": 7},
    "shutdown": {"grace_period": 30},
    "peers": {"allow_listeners": true})"));
  ASSERT_TRUE(c) << join(c.error().messages);
  EXPECT_EQ(c->limits.max_connections, 500U);
  EXPECT_EQ(c->limits.max_connections_per_ip, 8U);
  EXPECT_EQ(c->limits.max_bandwidth_per_allocation, 0U);
  EXPECT_EQ(c->limits.unauthenticated_requests_per_second, 5U);
  EXPECT_EQ(c->limits.unauthenticated_burst, 7U);
  EXPECT_EQ(c->shutdown.grace_period_s, 30U);
  EXPECT_TRUE(c->peers.allow_listeners);
  ConfigErrors errors;
  validate(*c, errors);
  EXPECT_TRUE(errors.messages.empty()) << join(errors.messages);
}

TEST(ConfigLimits, LargeBandwidthFitsIn64Bits) {
  auto c = parse_config(document(R"("limits": {"max_bandwidth_per_allocation": 100000000000})"));
  ASSERT_TRUE(c) << join(c.error().messages);
  EXPECT_EQ(c->limits.max_bandwidth_per_allocation, 100'000'000'000ULL);
}

TEST(ConfigLimits, OneErrorPerBadKey) {
  EXPECT_EQ(errors_of(R"("limits": {"max_connections": -1})"),
            std::vector<std::string>{"limits.max_connections: -1 is out of range 0-10000000"});
  EXPECT_EQ(
      errors_of(R"("limits": {"max_connections_per_ip": "64"})"),
      std::vector<std::string>{"limits.max_connections_per_ip: expected an integer, got string"});
  EXPECT_EQ(errors_of(R"("limits": {"max_bandwidth_per_allocation": 100000000001})"),
            std::vector<std::string>{"limits.max_bandwidth_per_allocation: 100000000001 is out "
                                     "of range 0-100000000000"});
  EXPECT_EQ(errors_of(R"("limits": {"unauthenticated_requests_per_second": 1.5})"),
            std::vector<std::string>{
                "limits.unauthenticated_requests_per_second: expected an integer, got float"});
  EXPECT_EQ(errors_of(R"("limits": {"unauthenticated_burst": 0})"),
            std::vector<std::string>{"limits.unauthenticated_burst: 0 is out of range 1-1000000"});
  EXPECT_EQ(errors_of(R"("shutdown": {"grace_period": 86401})"),
            std::vector<std::string>{"shutdown.grace_period: 86401 is out of range 0-86400"});
  EXPECT_EQ(errors_of(R"("peers": {"allow_listeners": 1})"),
            std::vector<std::string>{"peers.allow_listeners: expected a boolean, got integer"});
}

TEST(ConfigLimits, UnknownKeysAreErrors) {
  const auto errors = errors_of(R"("limits": {"max_conections": 5}, "shutdown": {"grace": 1})");
  ASSERT_EQ(errors.size(), 2U) << join(errors);
  EXPECT_TRUE(errors[0].starts_with("limits.max_conections: unknown key")) << errors[0];
  EXPECT_TRUE(errors[1].starts_with("shutdown.grace: unknown key")) << errors[1];
}

TEST(ConfigLimits, PerIpCannotExceedTheTotal) {
  EXPECT_EQ(errors_of(R"("limits": {"max_connections": 10, "max_connections_per_ip": 11})"),
            std::vector<std::string>{
                "limits.max_connections_per_ip: must be <= limits.max_connections (11 > 10)"});
  // 0 means unlimited, so any per-IP limit is fine under it.
  EXPECT_TRUE(
      errors_of(R"("limits": {"max_connections": 0, "max_connections_per_ip": 11})").empty());
}

TEST(ConfigLimits, StreamIdleTimeout) {
  auto c = parse_config(document(""));
  ASSERT_TRUE(c) << join(c.error().messages);
  EXPECT_EQ(c->limits.stream_idle_timeout_s, 30U);  // secure default: idle sockets do not pile up
  c = parse_config(document(R"("limits": {"stream_idle_timeout": 2})"));
  ASSERT_TRUE(c) << join(c.error().messages);
  EXPECT_EQ(c->limits.stream_idle_timeout_s, 2U);
  EXPECT_TRUE(errors_of(R"("limits": {"stream_idle_timeout": 0})").empty());  // 0 = never
  EXPECT_EQ(errors_of(R"("limits": {"stream_idle_timeout": 86401})"),
            std::vector<std::string>{"limits.stream_idle_timeout: 86401 is out of range 0-86400"});
  EXPECT_EQ(
      errors_of(R"("limits": {"stream_idle_timeout": "30s"})"),
      std::vector<std::string>{"limits.stream_idle_timeout: expected an integer, got string"});
  c = parse_config(document(""));
  ASSERT_TRUE(c);
  c->limits.stream_idle_timeout_s = 100000;
  ConfigErrors errors;
  validate(*c, errors);
  EXPECT_EQ(errors.messages,
            std::vector<std::string>{
                "limits.stream_idle_timeout: must be at most 86400 (seconds; 0 = never)"});
}

TEST(ConfigLimits, ValidateCatchesValuesSetInCode) {
  auto c = parse_config(document(""));
  ASSERT_TRUE(c);
  c->limits.unauthenticated_burst = 0;
  c->shutdown.grace_period_s = 100000;
  ConfigErrors errors;
  validate(*c, errors);
  EXPECT_EQ(errors.messages,
            (std::vector<std::string>{"limits.unauthenticated_burst: must be between 1 and 1000000",
                                      "shutdown.grace_period: must be at most 86400"}));
}

}  // namespace
}  // namespace turnpike::config
