#include "turnpike/stun/channel_data.h"

namespace turnpike::stun {

Result<ChannelData, ParseError> parse_channel_data(ByteView datagram) noexcept {
  if (datagram.size() < kChannelDataHeaderSize) return unexpected(ParseError::kTooShort);
  const uint16_t channel = load_be16(datagram.data());
  if (!is_valid_legacy_channel(channel)) return unexpected(ParseError::kBadAttributeValue);
  const size_t length = load_be16(datagram.data() + 2);
  // RFC 8656 §12.5: over UDP the datagram may carry padding after the application data (it is
  // ignored), but fewer bytes than the length field claims means the message is discarded.
  if (length > datagram.size() - kChannelDataHeaderSize) return unexpected(ParseError::kTooShort);
  return ChannelData{channel, datagram.subspan(kChannelDataHeaderSize, length)};
}

}  // namespace turnpike::stun
