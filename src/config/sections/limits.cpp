// limits.*: max_connections, max_connections_per_ip, max_bandwidth_per_allocation,
// unauthenticated_requests_per_second, unauthenticated_burst, stream_idle_timeout (0 = no limit,
// except the burst).
#include <cstdint>
#include <string>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

constexpr uint32_t kMaxConnections = 10'000'000;
constexpr uint64_t kMaxBandwidth = 100'000'000'000ULL;  // 100 GB/s: above any NIC
constexpr uint32_t kMaxRequestRate = 1'000'000;
constexpr uint32_t kMaxIdleTimeout = 86'400;  // one day

}  // namespace

void read_limits(Reader& r, const Json& value, const std::string& path, Config& config) {
  LimitsConfig& limits = config.limits;
  r.object(value, path,
           {{"max_connections",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.max_connections, 0, kMaxConnections);
             }},
            {"max_connections_per_ip",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.max_connections_per_ip, 0, kMaxConnections);
             }},
            {"max_bandwidth_per_allocation",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.max_bandwidth_per_allocation, 0, kMaxBandwidth);
             }},
            {"unauthenticated_requests_per_second",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.unauthenticated_requests_per_second, 0,
                               kMaxRequestRate);
             }},
            {"unauthenticated_burst",
             [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.unauthenticated_burst, 1, kMaxRequestRate);
             }},
            {"stream_idle_timeout", [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, limits.stream_idle_timeout_s, 0, kMaxIdleTimeout);
             }}});
}

void validate_limits(const Config& config, Reader& r) {
  const LimitsConfig& l = config.limits;
  if (l.max_connections > kMaxConnections) {
    r.error("limits.max_connections", "must be at most " + std::to_string(kMaxConnections));
  }
  if (l.max_connections_per_ip > kMaxConnections) {
    r.error("limits.max_connections_per_ip", "must be at most " + std::to_string(kMaxConnections));
  }
  if (l.max_connections != 0 && l.max_connections_per_ip > l.max_connections) {
    r.error("limits.max_connections_per_ip", "must be <= limits.max_connections (" +
                                                 std::to_string(l.max_connections_per_ip) + " > " +
                                                 std::to_string(l.max_connections) + ")");
  }
  if (l.max_bandwidth_per_allocation > kMaxBandwidth) {
    r.error("limits.max_bandwidth_per_allocation",
            "must be at most " + std::to_string(kMaxBandwidth) + " (bytes per second)");
  }
  if (l.unauthenticated_requests_per_second > kMaxRequestRate) {
    r.error("limits.unauthenticated_requests_per_second",
            "must be at most " + std::to_string(kMaxRequestRate));
  }
  if (l.unauthenticated_burst == 0 || l.unauthenticated_burst > kMaxRequestRate) {
    r.error("limits.unauthenticated_burst",
            "must be between 1 and " + std::to_string(kMaxRequestRate));
  }
  if (l.stream_idle_timeout_s > kMaxIdleTimeout) {
    r.error("limits.stream_idle_timeout",
            "must be at most " + std::to_string(kMaxIdleTimeout) + " (seconds; 0 = never)");
  }
}

}  // namespace turnpike::config::detail
