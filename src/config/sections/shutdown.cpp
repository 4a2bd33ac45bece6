// shutdown.*: grace_period.
#include <cstdint>
#include <string>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

constexpr uint32_t kMaxGracePeriod = 86400;

}  // namespace

void read_shutdown(Reader& r, const Json& value, const std::string& path, Config& config) {
  r.object(value, path, {{"grace_period", [&](const Json& v, const std::string& p) {
                            r.unsigned_into(v, p, config.shutdown.grace_period_s, 0,
                                            kMaxGracePeriod);
                          }}});
}

void validate_shutdown(const Config& config, Reader& r) {
  if (config.shutdown.grace_period_s > kMaxGracePeriod) {
    r.error("shutdown.grace_period", "must be at most " + std::to_string(kMaxGracePeriod));
  }
}

}  // namespace turnpike::config::detail
