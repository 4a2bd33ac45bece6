// allocation.*: lifetimes (default, max, permission, channel), quotas (max_total, max_per_user,
// max_per_label, max_permissions, max_channels), strict_channel_numbers.
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

}  // namespace

void read_allocation(Reader& r, const Json& value, const std::string& path, Config& config) {
  AllocationConfig& allocation = config.allocation;
  // Zero values are type-correct here; validate() explains why they are not allowed.
  const auto u32 = [&r](uint32_t& out) {
    return
        [&r, &out](const Json& v, const std::string& p) { r.unsigned_into(v, p, out, 0, kMaxU32); };
  };
  r.object(value, path,
           {{"default_lifetime", u32(allocation.default_lifetime_s)},
            {"max_lifetime", u32(allocation.max_lifetime_s)},
            {"permission_lifetime", u32(allocation.permission_lifetime_s)},
            {"channel_lifetime", u32(allocation.channel_lifetime_s)},
            {"max_total", u32(allocation.max_total)},
            {"max_per_user", u32(allocation.max_per_user)},
            {"max_per_label", u32(allocation.max_per_label)},  // 0: no limit of its own
            {"max_permissions", u32(allocation.max_permissions)},
            {"max_channels", u32(allocation.max_channels)},
            {"strict_channel_numbers", [&r, &allocation](const Json& v, const std::string& p) {
               if (auto strict = r.boolean(v, p)) allocation.strict_channel_numbers = *strict;
             }}});
}

void validate_allocation(const Config& config, Reader& r) {
  const AllocationConfig& a = config.allocation;
  const std::array<std::pair<std::string_view, uint32_t>, 8> positive = {{
      {"allocation.default_lifetime", a.default_lifetime_s},
      {"allocation.max_lifetime", a.max_lifetime_s},
      {"allocation.permission_lifetime", a.permission_lifetime_s},
      {"allocation.channel_lifetime", a.channel_lifetime_s},
      {"allocation.max_total", a.max_total},
      {"allocation.max_per_user", a.max_per_user},
      {"allocation.max_permissions", a.max_permissions},
      {"allocation.max_channels", a.max_channels},
  }};
  for (const auto& [path, value] : positive) {
    if (value == 0) r.error(path, "must be > 0");
  }
  if (a.max_lifetime_s < a.default_lifetime_s) {
    r.error("allocation.max_lifetime", "must be >= allocation.default_lifetime (" +
                                           std::to_string(a.max_lifetime_s) + " < " +
                                           std::to_string(a.default_lifetime_s) + ")");
  }
}

}  // namespace turnpike::config::detail
