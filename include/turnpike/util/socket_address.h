// IP address + port, independent of any socket API, and the TURN 5-tuple (RFC 8656 §2).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;
struct sockaddr_storage;

namespace turnpike {

enum class Family : uint8_t { kIPv4 = 1, kIPv6 = 2 };  // values are the STUN address family codes

struct IpAddress {
  Family family = Family::kIPv4;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes; the rest stay zero

  [[nodiscard]] size_t size() const noexcept { return family == Family::kIPv4 ? 4 : 16; }
  [[nodiscard]] std::string to_string() const;
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    IpAddress ip;
    ip.bytes = {a, b, c, d};
    return ip;
  }
  [[nodiscard]] bool is_unspecified() const noexcept;
  bool operator==(const IpAddress&) const = default;
};

struct SocketAddress {
  IpAddress ip;
  uint16_t port = 0;

  [[nodiscard]] Family family() const noexcept { return ip.family; }
  // "1.2.3.4:5" or "[::1]:5".
  [[nodiscard]] std::string to_string() const;
  // Accepts "1.2.3.4:5", "[::1]:5"; port is required.
  static std::optional<SocketAddress> parse(std::string_view text);
  static std::optional<SocketAddress> from_sockaddr(const sockaddr* sa);
  // Returns the sockaddr length written into out.
  unsigned to_sockaddr(sockaddr_storage& out) const noexcept;
  bool operator==(const SocketAddress&) const = default;
};

enum class Transport : uint8_t { kUdp = 0, kTcp = 1, kTls = 2 };
const char* transport_name(Transport t) noexcept;

// The client's 5-tuple: client address, server address, transport (RFC 8656 §2). For TCP and TLS
// the connection id tells two connections with the same addresses apart (none can exist at once,
// but a reused tuple must not reach a stale allocation).
struct FiveTuple {
  SocketAddress client;
  SocketAddress server;
  Transport transport = Transport::kUdp;
  uint64_t connection_id = 0;  // 0 for UDP
  bool operator==(const FiveTuple&) const = default;
};

size_t hash_value(const IpAddress& ip) noexcept;
size_t hash_value(const SocketAddress& a) noexcept;
size_t hash_value(const FiveTuple& t) noexcept;

}  // namespace turnpike

template <>
struct std::hash<turnpike::IpAddress> {
  size_t operator()(const turnpike::IpAddress& v) const noexcept { return turnpike::hash_value(v); }
};
template <>
struct std::hash<turnpike::SocketAddress> {
  size_t operator()(const turnpike::SocketAddress& v) const noexcept {
    return turnpike::hash_value(v);
  }
};
template <>
struct std::hash<turnpike::FiveTuple> {
  size_t operator()(const turnpike::FiveTuple& v) const noexcept { return turnpike::hash_value(v); }
};
