// Data indication framing in place (RFC 8656 §11.3, attributes RFC 8656 §18.3 XOR-PEER-ADDRESS and
// §18.4 DATA, XOR encoding RFC 8489 §14.2).
#include "turnpike/stun/data_indication.h"

#include <algorithm>
#include <cstring>

namespace turnpike::stun {

ByteView frame_data_indication(uint8_t* payload, size_t length, const SocketAddress& peer,
                               const TransactionId& transaction_id) noexcept {
  const size_t address_size = peer.family() == Family::kIPv4 ? 8 : 20;
  const size_t header = data_indication_headroom(peer.family());
  const size_t pad = (4 - (length & 3)) & 3;
  uint8_t* start = payload - header;
  store_be16(start, make_type(Method::kData, Class::kIndication));
  store_be16(start + 2, static_cast<uint16_t>(header - kHeaderSize + length + pad));
  store_be32(start + 4, kMagicCookie);
  std::copy(transaction_id.begin(), transaction_id.end(), start + 8);
  uint8_t* p = start + kHeaderSize;
  store_be16(p, attr::kXorPeerAddress);
  store_be16(p + 2, static_cast<uint16_t>(address_size));
  p[4] = 0;
  p[5] = static_cast<uint8_t>(peer.family());
  store_be16(p + 6, static_cast<uint16_t>(peer.port ^ (kMagicCookie >> 16)));
  // RFC 8489 §14.2: XOR with the cookie, and for IPv6 with cookie || transaction id.
  for (size_t i = 0; i < peer.ip.size(); ++i) p[8 + i] = peer.ip.bytes[i] ^ start[4 + i];
  p += 4 + address_size;
  store_be16(p, attr::kData);
  store_be16(p + 2, static_cast<uint16_t>(length));
  std::memset(payload + length, 0, pad);
  return {start, header + length + pad};
}

}  // namespace turnpike::stun
