// PROXY protocol version 2 (HAProxy's spec, section 2.2): the binary header a TCP proxy (nginx
// stream, HAProxy) sends before the client's bytes so the real client address is known. Pure
// parsing; the transport decides where it is accepted (opt-in per listener: never trust it from
// arbitrary clients, since it lets the sender choose its address).
#pragma once

#include <cstddef>
#include <optional>

#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"

namespace turnpike {

enum class ProxyParse : uint8_t {
  kNeedMore,  // not enough bytes yet for the whole header
  kDone,      // header complete: `length` bytes consumed
  kInvalid,   // not a PROXY v2 header (or unsupported version/command): close the connection
};

struct ProxyHeader {
  size_t length = 0;                    // bytes the header occupies
  std::optional<SocketAddress> source;  // the original client; empty for LOCAL or UNSPEC
};

inline constexpr size_t kProxyV2MaxHeader = 16 + 536;  // larger TLV blocks are refused

ProxyParse parse_proxy_v2(ByteView bytes, ProxyHeader& out) noexcept;

}  // namespace turnpike
