// libFuzzer target: the configuration loader (nlohmann/json + our strict reader: every key, type,
// range and cross-field check, error messages with key paths) and the environment overrides. It
// must never throw, crash or echo a secret: parse_config returns a Config or a list of errors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "turnpike/config/config_loader.h"

using namespace turnpike;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

const char* fixed_env(const char* name) {
  const std::string_view n(name);
  if (n == "TURNPIKE_REST_SECRETS") return " s1 , s2,,";
  if (n == "TURNPIKE_API_KEYS") return "app:0123456789abcdef0123,bad";
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = config::parse_config(text);
  if (!parsed) {
    check(!parsed.error().messages.empty());
    for (const std::string& m : parsed.error().messages) check(!m.empty());
    return 0;
  }
  config::ConfigErrors errors;
  config::validate(*parsed, errors);
  config::apply_env_overrides(*parsed, fixed_env);
  config::ConfigErrors again;
  config::validate(*parsed, again);
  // The one secret the environment adds must never show up in a message.
  for (const std::string& m : again.messages)
    check(m.find("0123456789abcdef0123") == std::string::npos);
  return 0;
}
