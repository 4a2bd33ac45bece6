// ChannelData messages (RFC 8656 §12.4). Routed on their first two bytes, never through the STUN
// parser.
#pragma once

#include <cstdint>

#include "turnpike/stun/message_view.h"

namespace turnpike::stun {

inline constexpr size_t kChannelDataHeaderSize = 4;
inline constexpr uint16_t kMinChannel = 0x4000;
inline constexpr uint16_t kMaxChannel = 0x4FFF;  // RFC 8656 §12: 0x5000-0x7FFF are reserved

// The first two bits 0b01 mark ChannelData; STUN messages start with 0b00 (RFC 8656 §12).
inline bool looks_like_channel_data(ByteView bytes) noexcept {
  return !bytes.empty() && (bytes[0] & 0xC0) == 0x40;
}
constexpr bool is_valid_channel(uint16_t channel) noexcept {
  return channel >= kMinChannel && channel <= kMaxChannel;
}

struct ChannelData {
  uint16_t channel = 0;
  ByteView payload;  // borrows the datagram
};

// Over UDP (RFC 8656 §12.5): a datagram shorter than 4 + length is discarded (kTooShort); extra
// bytes after the payload (padding) are ignored. A channel outside 0x4000-0x4FFF is
// kBadAttributeValue.
Result<ChannelData, ParseError> parse_channel_data(ByteView datagram) noexcept;

}  // namespace turnpike::stun
