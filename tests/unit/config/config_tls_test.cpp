// tls.*: certificate and private_key go together; a tls listener needs them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/config/config_loader.h"
#include "unit/config/config_fixtures.h"

namespace turnpike::config {
namespace {

using namespace turnpike::config::test;  // NOLINT: test fixtures

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

}  // namespace
}  // namespace turnpike::config
