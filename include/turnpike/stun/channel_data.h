// ChannelData messages (RFC 8656 §12.4). Routed on their first two bytes, never through the STUN
// parser.
#pragma once

#include <cstdint>

#include "turnpike/stun/message_view.h"

namespace turnpike::stun {

inline constexpr size_t kChannelDataHeaderSize = 4;
inline constexpr uint16_t kMinChannel = 0x4000;
inline constexpr uint16_t kMaxChannel = 0x4FFF;  // RFC 8656 §12: 0x5000-0x7FFF are reserved
// RFC 5766 §11 allowed 0x4000-0x7FFF, and clients still pick numbers there (coturn's
// turnutils_uclient does); the server accepts them unless configured strict.
inline constexpr uint16_t kMaxLegacyChannel = 0x7FFF;

// The first two bits 0b01 mark ChannelData; STUN messages start with 0b00 (RFC 8656 §12).
inline bool looks_like_channel_data(ByteView bytes) noexcept {
  return !bytes.empty() && (bytes[0] & 0xC0) == 0x40;
}
constexpr bool is_valid_channel(uint16_t channel) noexcept {
  return channel >= kMinChannel && channel <= kMaxChannel;
}
constexpr bool is_valid_legacy_channel(uint16_t channel) noexcept {
  return channel >= kMinChannel && channel <= kMaxLegacyChannel;
}

struct ChannelData {
  uint16_t channel = 0;
  ByteView payload;  // borrows the datagram
};

// Over UDP (RFC 8656 §12.5): a datagram shorter than 4 + length is discarded (kTooShort); extra
// bytes after the payload (padding) are ignored. A channel outside 0x4000-0x7FFF (the RFC 5766
// range; whether 0x5000-0x7FFF may be bound is the server's policy) is kBadAttributeValue.
Result<ChannelData, ParseError> parse_channel_data(ByteView datagram) noexcept;

}  // namespace turnpike::stun
