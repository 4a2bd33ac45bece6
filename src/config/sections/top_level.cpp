// The keys at the top level of the document: workers, user, group, software.
#include <string>
#include <utility>

#include "sections.h"

namespace turnpike::config::detail {

void read_workers(Reader& r, const Json& value, const std::string& path, Config& config) {
  r.unsigned_into(value, path, config.workers, 0, 256);
}

void read_user(Reader& r, const Json& value, const std::string& path, Config& config) {
  if (auto text = r.string(value, path)) config.user = std::move(*text);
}

void read_group(Reader& r, const Json& value, const std::string& path, Config& config) {
  if (auto text = r.string(value, path)) config.group = std::move(*text);
}

void read_software(Reader& r, const Json& value, const std::string& path, Config& config) {
  if (auto text = r.string(value, path)) config.software = std::move(*text);
}

void validate_top_level(const Config& config, Reader& r) {
  if (!config.group.empty() && config.user.empty()) r.error("group", "requires user");
  if (utf8_length(config.software) > kMaxTextChars) {
    r.error("software", "must be fewer than 128 characters");
  }
}

}  // namespace turnpike::config::detail
