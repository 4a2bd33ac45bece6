#include "turnpike/util/proxy_protocol.h"

#include <algorithm>
#include <cstring>

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

}  // namespace turnpike
