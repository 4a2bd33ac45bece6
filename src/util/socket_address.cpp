#include "turnpike/util/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace turnpike {

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::kIPv4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress ip;
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.family = Family::kIPv4;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) {
    ip.family = Family::kIPv6;
    return ip;
  }
  return std::nullopt;
}

bool IpAddress::is_unspecified() const noexcept {
  for (size_t i = 0; i < size(); ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

std::string SocketAddress::to_string() const {
  const std::string host = ip.to_string();
  if (ip.family == Family::kIPv6) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    return std::nullopt;
  }
  auto ip = IpAddress::parse(host);
  if (!ip) return std::nullopt;
  return SocketAddress{*ip, static_cast<uint16_t>(port)};
}

std::optional<SocketAddress> SocketAddress::from_sockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  SocketAddress out;
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    out.ip.family = Family::kIPv4;
    std::memcpy(out.ip.bytes.data(), &sin.sin_addr, 4);
    out.port = ntohs(sin.sin_port);
    return out;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    out.ip.family = Family::kIPv6;
    std::memcpy(out.ip.bytes.data(), &sin6.sin6_addr, 16);
    out.port = ntohs(sin6.sin6_port);
    return out;
  }
  return std::nullopt;
}

unsigned SocketAddress::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (ip.family == Family::kIPv4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    std::memcpy(&sin.sin_addr, ip.bytes.data(), 4);
    std::memcpy(&out, &sin, sizeof sin);
    return sizeof sin;
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  std::memcpy(&sin6.sin6_addr, ip.bytes.data(), 16);
  std::memcpy(&out, &sin6, sizeof sin6);
  return sizeof sin6;
}

const char* transport_name(Transport t) noexcept {
  switch (t) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kTls:
      return "tls";
  }
  return "?";
}

namespace {
// FNV-1a: cheap and good enough for table keys that an attacker cannot choose freely (the
// unordered_map rehashes on growth; addresses come from the kernel, not from packet contents).
constexpr size_t kFnvOffset = 1469598103934665603ULL;
constexpr size_t kFnvPrime = 1099511628211ULL;
size_t fnv(size_t h, const uint8_t* p, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}
size_t mix(size_t h, uint64_t v) noexcept {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return fnv(h, b, 8);
}
}  // namespace

size_t hash_value(const IpAddress& ip) noexcept {
  return fnv(kFnvOffset ^ static_cast<size_t>(ip.family), ip.bytes.data(), ip.size());
}
size_t hash_value(const SocketAddress& a) noexcept { return mix(hash_value(a.ip), a.port); }
size_t hash_value(const FiveTuple& t) noexcept {
  size_t h = mix(hash_value(t.client), hash_value(t.server));
  return mix(h, (t.connection_id << 2) | static_cast<uint64_t>(t.transport));
}

}  // namespace turnpike
