// Shared by the config tests (one file per section, like src/config/sections/): documents,
// parse and validate wrappers, a fake environment.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "turnpike/config/config_loader.h"

namespace turnpike::config::test {

// The smallest document without parse errors: relay.address is the one required key.
inline constexpr std::string_view kMinimal = R"({"relay": {"address": "192.0.2.10"}})";

inline std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "\n  " + line;
  return out;
}

// Messages from parse_config (empty when it succeeded).
inline std::vector<std::string> parse_errors(std::string_view json) {
  auto result = parse_config(json);
  return result ? std::vector<std::string>{} : result.error().messages;
}

// Messages from validate() on a config that must parse.
inline std::vector<std::string> validate_errors(std::string_view json) {
  auto result = parse_config(json);
  if (!result) {
    ADD_FAILURE() << "unexpected parse errors:" << join(result.error().messages);
    return {};
  }
  ConfigErrors errors;
  validate(*result, errors);
  return errors.messages;
}

inline ::testing::AssertionResult has_message(const std::vector<std::string>& messages,
                                              std::string_view expected) {
  for (const std::string& m : messages) {
    if (m == expected) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no message \"" << expected << "\" in:" << join(messages);
}

// A config that validates: what most validate() tests start from.
inline Config valid_config() {
  auto result =
      parse_config(R"({"relay": {"address": "192.0.2.10"}, "auth": {"static_users": {"u": "p"}}})");
  EXPECT_TRUE(result) << join(result.error().messages);
  return *result;
}

inline std::vector<std::string> validate_errors(const Config& config) {
  ConfigErrors errors;
  validate(config, errors);
  return errors.messages;
}

// ---- environment overrides: a fake getenv, emptied around each EnvOverrides test ----

inline std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
inline const char* fake_getenv(const char* name) {
  const auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

class EnvOverrides : public ::testing::Test {
 protected:
  void SetUp() override { fake_env().clear(); }
  void TearDown() override { fake_env().clear(); }
};

}  // namespace turnpike::config::test
