// The PROXY protocol (HAProxy's spec): the header a TCP proxy sends before the client's bytes so
// the real client address is known. Version 2 is binary (HAProxy `send-proxy-v2`); version 1 is a
// text line (nginx `stream { proxy_protocol on; }` sends only v1). Pure parsing; the transport
// decides where it is accepted (opt-in per listener: never trust it from arbitrary clients, since
// it lets the sender choose its address).
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

// Version 1: "PROXY TCP4|TCP6|UNKNOWN <src> <dst> <sport> <dport>\r\n", at most 107 bytes.
inline constexpr size_t kProxyV1MaxHeader = 107;
ProxyParse parse_proxy_v1(ByteView bytes, ProxyHeader& out) noexcept;

// Either version, told apart by the first byte ('P' for v1, 0x0D for v2).
ProxyParse parse_proxy(ByteView bytes, ProxyHeader& out) noexcept;

}  // namespace turnpike
