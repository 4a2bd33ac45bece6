#include "turnpike/util/proxy_protocol.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

namespace turnpike {
namespace {
constexpr uint8_t kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
}  // namespace

ProxyParse parse_proxy_v2(ByteView bytes, ProxyHeader& out) noexcept {
  // Reject early on a wrong signature prefix so a client that is not a proxy is cut off at once.
  const size_t prefix = std::min(bytes.size(), sizeof kSignature);
  if (std::memcmp(bytes.data(), kSignature, prefix) != 0) return ProxyParse::kInvalid;
  if (bytes.size() < 16) return ProxyParse::kNeedMore;
  const uint8_t version_command = bytes[12];
  if ((version_command >> 4) != 2) return ProxyParse::kInvalid;
  const uint8_t command = version_command & 0x0F;  // 0 LOCAL, 1 PROXY
  if (command > 1) return ProxyParse::kInvalid;
  const size_t length = load_be16(bytes.data() + 14);
  if (16 + length > kProxyV2MaxHeader) return ProxyParse::kInvalid;
  if (bytes.size() < 16 + length) return ProxyParse::kNeedMore;
  out = ProxyHeader{16 + length, std::nullopt};
  if (command == 0) return ProxyParse::kDone;  // LOCAL: health check from the proxy itself
  const uint8_t family = bytes[13] >> 4;       // 1 INET, 2 INET6 (3 UNIX, 0 UNSPEC: ignored)
  const uint8_t protocol = bytes[13] & 0x0F;   // 1 STREAM
  const uint8_t* a = bytes.data() + 16;
  if (family == 1 && protocol == 1 && length >= 12) {
    SocketAddress s;
    s.ip.family = Family::kIPv4;
    std::memcpy(s.ip.bytes.data(), a, 4);
    s.port = load_be16(a + 8);
    out.source = s;
  } else if (family == 2 && protocol == 1 && length >= 36) {
    SocketAddress s;
    s.ip.family = Family::kIPv6;
    std::memcpy(s.ip.bytes.data(), a, 16);
    s.port = load_be16(a + 32);
    out.source = s;
  }
  return ProxyParse::kDone;
}

ProxyParse parse_proxy_v1(ByteView bytes, ProxyHeader& out) noexcept {
  constexpr std::string_view kPrefix = "PROXY ";
  const std::string_view text =
      as_string_view(bytes.first(std::min(bytes.size(), kProxyV1MaxHeader)));
  const size_t prefix = std::min(text.size(), kPrefix.size());
  if (text.substr(0, prefix) != kPrefix.substr(0, prefix)) return ProxyParse::kInvalid;
  const size_t end = text.find("\r\n");
  if (end == std::string_view::npos) {
    return bytes.size() >= kProxyV1MaxHeader ? ProxyParse::kInvalid : ProxyParse::kNeedMore;
  }
  out = ProxyHeader{end + 2, std::nullopt};
  // Fields: PROXY <proto> <src> <dst> <sport> <dport>
  std::string_view fields[6];
  size_t count = 0;
  std::string_view rest = text.substr(0, end);
  while (!rest.empty() && count < 6) {
    const size_t space = rest.find(' ');
    fields[count++] = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  }
  if (count >= 2 && fields[1] == "UNKNOWN") return ProxyParse::kDone;
  if (count != 6 || !rest.empty() || (fields[1] != "TCP4" && fields[1] != "TCP6")) {
    return ProxyParse::kInvalid;
  }
  auto ip = IpAddress::parse(fields[2]);
  unsigned port = 0;
  const auto [ptr, ec] =
      std::from_chars(fields[4].data(), fields[4].data() + fields[4].size(), port);
  if (!ip || ec != std::errc{} || ptr != fields[4].data() + fields[4].size() || port > 65535 ||
      (ip->family == Family::kIPv4) != (fields[1] == "TCP4")) {
    return ProxyParse::kInvalid;
  }
  out.source = SocketAddress{*ip, static_cast<uint16_t>(port)};
  return ProxyParse::kDone;
}

ProxyParse parse_proxy(ByteView bytes, ProxyHeader& out) noexcept {
  if (bytes.empty()) return ProxyParse::kNeedMore;
  return bytes[0] == 'P' ? parse_proxy_v1(bytes, out) : parse_proxy_v2(bytes, out);
}

}  // namespace turnpike
