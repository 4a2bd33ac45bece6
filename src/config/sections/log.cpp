// log.*: level.
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};

// Checked while parsing and again by validate() (so configs changed in code are covered too).
void check_log_level(const std::string& level, Reader& reader) {
  for (const std::string_view known : kLogLevels) {
    if (level == known) return;
  }
  reader.error("log.level",
               quote_json(level) + " is not one of trace, debug, info, warn, error, critical, off");
}

}  // namespace

void read_log(Reader& r, const Json& value, const std::string& path, Config& config) {
  r.object(value, path, {{"level", [&](const Json& v, const std::string& p) {
                            if (auto text = r.string(v, p)) {
                              check_log_level(*text, r);
                              config.log.level = std::move(*text);
                            }
                          }}});
}

void validate_log(const Config& config, Reader& r) { check_log_level(config.log.level, r); }

}  // namespace turnpike::config::detail
