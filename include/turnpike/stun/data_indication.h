// Data indications (RFC 8656 §11.3), framed in place: the header, XOR-PEER-ADDRESS and the DATA
// attribute's header are written into the headroom in front of a payload that is already in its
// buffer, and the padding after it. The payload is never copied and nothing is allocated.
#pragma once

#include <cstddef>

#include "turnpike/stun/constants.h"
#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::stun {

// Bytes written before the payload: 20 header + XOR-PEER-ADDRESS (12 for IPv4, 24 for IPv6)
// + 4 DATA attribute header.
[[nodiscard]] constexpr size_t data_indication_headroom(Family family) noexcept {
  return kHeaderSize + 4 + (family == Family::kIPv4 ? 8 : 20) + 4;
}
inline constexpr size_t kDataIndicationMaxHeadroom = 48;  // IPv6
inline constexpr size_t kDataIndicationMaxTailroom = 3;   // DATA padding to a multiple of 4

// Frames `length` bytes at `payload` (at most 0xFFFF - 64) as a Data indication from `peer` with
// `transaction_id`. The caller guarantees data_indication_headroom(peer.family()) writable bytes
// before `payload` and 3 after it. Returns the whole message, which starts in the headroom.
ByteView frame_data_indication(uint8_t* payload, size_t length, const SocketAddress& peer,
                               const TransactionId& transaction_id) noexcept;

}  // namespace turnpike::stun
