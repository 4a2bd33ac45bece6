// The one place that decides which peer addresses a relay may talk to (RFC 8656 §21.2.2 and the
// SSRF lessons of CVE-2020-26262). Default: deny loopback, private, CGNAT, link-local (with cloud
// metadata 169.254.169.254), multicast, broadcast, unspecified, documentation and other special
// ranges, IPv4 and IPv6. Config may allow ranges (allow beats deny) or deny more.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "turnpike/util/socket_address.h"

namespace turnpike::policy {

struct Cidr {
  IpAddress network;  // host bits cleared
  uint8_t prefix = 0;

  // "10.0.0.0/8", "::1/128", or a bare address (full-length prefix). Host bits must be zero.
  static std::optional<Cidr> parse(std::string_view text);
  [[nodiscard]] bool contains(const IpAddress& ip) const noexcept;  // families must match
  [[nodiscard]] std::string to_string() const;
  bool operator==(const Cidr&) const = default;
};

class PeerFilter {
 public:
  // The built-in deny list (eturnal's recommended list; see docs/security.md).
  static std::vector<Cidr> default_deny_list();

  // deny = default_deny_list() + extra_deny; allow ranges override both.
  PeerFilter(std::vector<Cidr> allow, std::vector<Cidr> extra_deny);
  PeerFilter() : PeerFilter({}, {}) {}

  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, but not :: or ::1), NAT64
  // (64:ff9b::/96) forms become the IPv4 address they carry; anything else is returned as is.
  static IpAddress canonical(const IpAddress& ip) noexcept;
  // The IPv4 addresses an address stands for: itself (IPv4), the canonical() form, or those
  // embedded in SIIT (::ffff:0:a.b.c.d), 6to4 (2002:aabb:ccdd::/48) and Teredo (2001::/32: the
  // server's and the client's) addresses. Returns how many were written (0: a plain IPv6
  // address). No allocation: used on the packet path for the server's own addresses.
  static size_t ipv4_forms(const IpAddress& ip, std::array<IpAddress, 3>& out) noexcept;

  // Canonicalises, then: allowed if some allow range contains it, else denied if some deny range
  // contains it, else allowed. The unspecified addresses are always denied.
  [[nodiscard]] bool allows(const IpAddress& peer) const noexcept;

  // Changes whenever a new filter is built (a reload); copies keep it. Verdicts cached under one
  // generation (turn::Server's channels) are judged again under another. Never 0.
  [[nodiscard]] uint64_t generation() const noexcept { return generation_; }

 private:
  std::vector<Cidr> allow_;
  std::vector<Cidr> deny_;
  uint64_t generation_;
};

}  // namespace turnpike::policy
