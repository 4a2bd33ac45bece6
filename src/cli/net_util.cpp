#include "net_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>
#include <ctime>

namespace turnpike::cli {
namespace {

std::optional<uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text, uint16_t default_port,
                                        std::string* error) {
  HostPort out;
  out.port = default_port;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *error = "missing ']' in '" + std::string(text) + "'";
      return std::nullopt;
    }
    out.host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        *error = "unexpected text after ']' in '" + std::string(text) + "'";
        return std::nullopt;
      }
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      has_port = true;
    } else {
      out.host = std::string(text);  // no colon, or a bare IPv6 literal
    }
  }
  if (out.host.empty()) {
    *error = "missing host in '" + std::string(text) + "'";
    return std::nullopt;
  }
  if (has_port) {
    const auto port = parse_port(port_text);
    if (!port) {
      *error = "bad port in '" + std::string(text) + "'";
      return std::nullopt;
    }
    out.port = *port;
  }
  return out;
}

std::optional<SocketAddress> resolve(const HostPort& target, std::string* error) {
  if (auto ip = IpAddress::parse(target.host)) return SocketAddress{*ip, target.port};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(target.host.c_str(), nullptr, &hints, &list);
  if (rc != 0 || list == nullptr) {
    *error = "cannot resolve '" + target.host + "': " + gai_strerror(rc);
    return std::nullopt;
  }
  std::optional<SocketAddress> v4;
  std::optional<SocketAddress> v6;
  int guard = 0;
  for (const addrinfo* ai = list; ai != nullptr && guard < 64; ai = ai->ai_next, ++guard) {
    auto a = SocketAddress::from_sockaddr(ai->ai_addr);
    if (!a) continue;
    a->port = target.port;
    if (a->family() == Family::kIPv4 && !v4) v4 = a;
    if (a->family() == Family::kIPv6 && !v6) v6 = a;
  }
  freeaddrinfo(list);
  if (v4) return v4;
  if (v6) return v6;
  *error = "no usable address for '" + target.host + "'";
  return std::nullopt;
}

std::optional<Transport> parse_transport(std::string_view name) {
  if (name == "udp") return Transport::kUdp;
  if (name == "tcp") return Transport::kTcp;
  if (name == "tls") return Transport::kTls;
  return std::nullopt;
}

bool is_ip_literal(const std::string& host) { return IpAddress::parse(host).has_value(); }

int64_t mono_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t unix_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec};
}

std::string format_us(double us) {
  char buf[64];
  if (us < 1000.0) {
    std::snprintf(buf, sizeof buf, "%.0f us", us);
  } else if (us < 1'000'000.0) {
    std::snprintf(buf, sizeof buf, "%.2f ms", us / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f s", us / 1'000'000.0);
  }
  return buf;
}

}  // namespace turnpike::cli
