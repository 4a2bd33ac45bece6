// relay.*: address (required), advertised_address, ipv6_address, advertised_ipv6_address,
// port_min, port_max.
#include <optional>
#include <string>
#include <string_view>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

void read_optional_ip(Reader& r, const Json& v, const std::string& p,
                      std::optional<IpAddress>& out) {
  if (auto ip = r.ip_address(v, p)) out = *ip;
}

void check_ip(const std::optional<IpAddress>& ip, std::string_view path, Family family,
              Reader& reader) {
  if (!ip) return;
  if (ip->family != family) {
    reader.error(path, "must be an " + std::string(family == Family::kIPv4 ? "IPv4" : "IPv6") +
                           " address, got " + ip->to_string());
  } else if (ip->is_unspecified()) {
    reader.error(path, ip->to_string() + " is unspecified; give a concrete address");
  }
}

}  // namespace

void read_relay(Reader& r, const Json& value, const std::string& path, Config& config) {
  RelayConfig& relay = config.relay;
  r.object(
      value, path,
      {{"address",
        [&](const Json& v, const std::string& p) {
          if (auto ip = r.ip_address(v, p)) relay.address = *ip;
        }},
       {"advertised_address",
        [&](const Json& v, const std::string& p) {
          read_optional_ip(r, v, p, relay.advertised_address);
        }},
       {"ipv6_address",
        [&](const Json& v, const std::string& p) {
          read_optional_ip(r, v, p, relay.ipv6_address);
        }},
       {"advertised_ipv6_address",
        [&](const Json& v, const std::string& p) {
          read_optional_ip(r, v, p, relay.advertised_ipv6_address);
        }},
       {"port_min", [&](const Json& v,
                        const std::string& p) { r.unsigned_into(v, p, relay.port_min, 1, 65535); }},
       {"port_max", [&](const Json& v, const std::string& p) {
          r.unsigned_into(v, p, relay.port_max, 1, 65535);
        }}});
}

void require_relay_address(const Json& root, Reader& r) {
  if (!root.is_object()) return;
  const auto relay = root.find("relay");
  // A relay value that is not an object already has its type error; that is enough.
  const bool has_address =
      relay != root.end() && (!relay->is_object() || relay->contains("address"));
  if (!has_address) r.error("relay.address", "required");
}

void validate_relay(const Config& config, Reader& r) {
  const RelayConfig& relay = config.relay;
  check_ip(relay.address, "relay.address", Family::kIPv4, r);
  check_ip(relay.advertised_address, "relay.advertised_address", Family::kIPv4, r);
  check_ip(relay.ipv6_address, "relay.ipv6_address", Family::kIPv6, r);
  check_ip(relay.advertised_ipv6_address, "relay.advertised_ipv6_address", Family::kIPv6, r);
  if (relay.advertised_ipv6_address && !relay.ipv6_address) {
    r.error("relay.advertised_ipv6_address", "requires relay.ipv6_address");
  }
  if (relay.port_min == 0) r.error("relay.port_min", "must not be 0");
  if (relay.port_min > relay.port_max) {
    r.error("relay.port_min", "must be <= relay.port_max (" + std::to_string(relay.port_min) +
                                  " > " + std::to_string(relay.port_max) + ")");
  }
}

}  // namespace turnpike::config::detail
