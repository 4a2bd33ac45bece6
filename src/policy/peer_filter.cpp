#include "turnpike/policy/peer_filter.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <system_error>
#include <utility>

namespace turnpike::policy {
namespace {

// Security-relevant default: the relay must never reach the server's own networks (RFC 8656
// §21.2.2; CVE-2020-26262, coturn relaying to loopback/0.0.0.0). This is eturnal's recommended
// blacklist, plus the Azure wire server (168.63.129.16, a metadata service outside 169.254/16),
// the deprecated IPv6 site-local range (fec0::/10) and SIIT's IPv4-translated addresses
// (::ffff:0:0:0/96, RFC 2765). 2001::/23 (IETF protocol assignments) includes Teredo 2001::/32.
constexpr std::array<std::string_view, 31> kDefaultDeny = {
    // IPv4
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "168.63.129.16/32", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32",
    // IPv6
    "::/128", "::1/128", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48",
    "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10",
    "ff00::/8"};

// A fresh number for each constructed filter (copies keep theirs): 0 is never handed out.
std::atomic<uint64_t> g_generations{0};

bool all_zero(const uint8_t* p, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// The mask for byte `i` of an address under a prefix of `prefix` bits.
uint8_t byte_mask(size_t i, unsigned prefix) noexcept {
  const size_t first_bit = i * 8;
  if (prefix >= first_bit + 8) return 0xFF;
  if (prefix <= first_bit) return 0x00;
  return static_cast<uint8_t>(0xFF << (8 - (prefix - first_bit)));
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  // IpAddress::parse stops at an embedded NUL; refuse it here so "1.2.3.4\0junk" is junk.
  if (text.empty() || text.find('\0') != std::string_view::npos) return std::nullopt;
  const size_t slash = text.find('/');
  const auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const unsigned max_prefix = ip->family == Family::kIPv4 ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || digits.front() < '0' || digits.front() > '9') {
      return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc{} || end != digits.data() + digits.size() || prefix > max_prefix) {
      return std::nullopt;
    }
  }
  for (size_t i = 0; i < ip->size(); ++i) {
    if ((ip->bytes[i] & static_cast<uint8_t>(~byte_mask(i, prefix))) != 0) return std::nullopt;
  }
  return Cidr{*ip, static_cast<uint8_t>(prefix)};
}

bool Cidr::contains(const IpAddress& ip) const noexcept {
  if (ip.family != network.family) return false;
  for (size_t i = 0; i < ip.size(); ++i) {
    const uint8_t mask = byte_mask(i, prefix);
    if (mask == 0) break;
    if ((ip.bytes[i] & mask) != network.bytes[i]) return false;
  }
  return true;
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix); }

std::vector<Cidr> PeerFilter::default_deny_list() {
  std::vector<Cidr> list;
  list.reserve(kDefaultDeny.size());
  for (std::string_view text : kDefaultDeny) list.push_back(*Cidr::parse(text));
  return list;
}

PeerFilter::PeerFilter(std::vector<Cidr> allow, std::vector<Cidr> extra_deny)
    : allow_(std::move(allow)),
      deny_(default_deny_list()),
      generation_(g_generations.fetch_add(1, std::memory_order_relaxed) + 1) {
  deny_.insert(deny_.end(), extra_deny.begin(), extra_deny.end());
}

IpAddress PeerFilter::canonical(const IpAddress& ip) noexcept {
  if (ip.family != Family::kIPv6) return ip;
  const uint8_t* b = ip.bytes.data();
  static constexpr uint8_t kNat64[4] = {0x00, 0x64, 0xff, 0x9b};  // 64:ff9b::/96 (RFC 6052)
  const bool mapped = all_zero(b, 10) && b[10] == 0xff && b[11] == 0xff;
  const bool nat64 = std::equal(kNat64, kNat64 + 4, b) && all_zero(b + 4, 8);
  // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1); :: and ::1 are the IPv6 unspecified and
  // loopback addresses and stay IPv6.
  const bool compatible = all_zero(b, 12) && !(all_zero(b + 12, 3) && b[15] <= 1);
  if (!mapped && !nat64 && !compatible) return ip;
  return IpAddress::v4(b[12], b[13], b[14], b[15]);
}

size_t PeerFilter::ipv4_forms(const IpAddress& ip, std::array<IpAddress, 3>& out) noexcept {
  const IpAddress c = canonical(ip);
  if (c.family == Family::kIPv4) {
    out[0] = c;
    return 1;
  }
  const uint8_t* b = ip.bytes.data();
  size_t n = 0;
  // SIIT IPv4-translated (::ffff:0:a.b.c.d, RFC 2765)
  if (all_zero(b, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) {
    out[n++] = IpAddress::v4(b[12], b[13], b[14], b[15]);
  }
  // 6to4 (2002:aabb:ccdd::/48, RFC 3056)
  if (b[0] == 0x20 && b[1] == 0x02) out[n++] = IpAddress::v4(b[2], b[3], b[4], b[5]);
  // Teredo (2001:0000::/32, RFC 4380): the server's address, then the client's, inverted
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
    out[n++] = IpAddress::v4(b[4], b[5], b[6], b[7]);
    out[n++] = IpAddress::v4(static_cast<uint8_t>(~b[12]), static_cast<uint8_t>(~b[13]),
                             static_cast<uint8_t>(~b[14]), static_cast<uint8_t>(~b[15]));
  }
  return n;
}

bool PeerFilter::allows(const IpAddress& peer) const noexcept {
  const IpAddress ip = canonical(peer);
  if (ip.is_unspecified()) return false;
  for (const Cidr& c : allow_) {
    if (c.contains(ip)) return true;
  }
  for (const Cidr& c : deny_) {
    if (c.contains(ip)) return false;
  }
  return true;
}

}  // namespace turnpike::policy
