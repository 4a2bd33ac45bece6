#include "turnpike/stun/message_view.h"

#include "turnpike/stun/integrity.h"

namespace turnpike::stun {
namespace {

constexpr size_t kAttributeHeaderSize = 4;
constexpr size_t kFingerprintValueSize = 4;

constexpr size_t padded(size_t n) noexcept { return (n + 3u) & ~size_t{3}; }

// Every comprehension-required type this implementation understands (constants.h, attr::).
constexpr uint16_t kKnownRequired[] = {
    attr::kMappedAddress,
    attr::kUsername,
    attr::kMessageIntegrity,
    attr::kErrorCode,
    attr::kUnknownAttributes,
    attr::kChannelNumber,
    attr::kLifetime,
    attr::kXorPeerAddress,
    attr::kData,
    attr::kRealm,
    attr::kNonce,
    attr::kXorRelayedAddress,
    attr::kRequestedAddressFamily,
    attr::kEvenPort,
    attr::kRequestedTransport,
    attr::kDontFragment,
    attr::kMessageIntegritySha256,
    attr::kPasswordAlgorithm,
    attr::kUserhash,
    attr::kXorMappedAddress,
    attr::kReservationToken,
    attr::kConnectionId,
};

constexpr bool is_known_required(uint16_t type) noexcept {
  for (uint16_t known : kKnownRequired) {
    if (known == type) return true;
  }
  return false;
}

}  // namespace

const char* to_string(ParseError e) noexcept {
  switch (e) {
    case ParseError::kTooShort:
      return "too short";
    case ParseError::kNotStun:
      return "not STUN";
    case ParseError::kBadMagicCookie:
      return "bad magic cookie";
    case ParseError::kBadLength:
      return "bad length";
    case ParseError::kTruncatedAttribute:
      return "truncated attribute";
    case ParseError::kTooManyAttributes:
      return "too many attributes";
    case ParseError::kBadFingerprint:
      return "bad fingerprint";
    case ParseError::kBadAttributeValue:
      return "bad attribute value";
  }
  return "unknown parse error";
}

bool MessageView::looks_like_stun(ByteView bytes) noexcept {
  // RFC 8489 §7: the top two bits are zero and bytes 4..7 hold the magic cookie.
  return bytes.size() >= 8 && (bytes[0] & 0xC0) == 0 && load_be32(bytes.data() + 4) == kMagicCookie;
}

Result<MessageView, ParseError> MessageView::parse(ByteView message) noexcept {
  // Built in place in the result (one named return: no copy of the attribute index).
  Result<MessageView, ParseError> out{MessageView{}};
  if (const auto error = parse_into(message, *out)) out = unexpected(*error);
  return out;
}

namespace {

// The 20-byte header (RFC 8489 §5, §6) of a span that must be exactly one message.
std::optional<ParseError> header_error(ByteView message) noexcept {
  if (message.size() < kHeaderSize) return (ParseError::kTooShort);
  const uint8_t* const data = message.data();
  // RFC 8489 §6: the most significant two bits of every STUN message are zero.
  if ((data[0] & 0xC0) != 0) return (ParseError::kNotStun);
  if (load_be32(data + 4) != kMagicCookie) return (ParseError::kBadMagicCookie);
  // RFC 8489 §5: the length excludes the header and is always a multiple of 4 (attributes are
  // padded). The span must be exactly one message.
  const size_t length = load_be16(data + 2);
  if (length % 4 != 0) return (ParseError::kBadLength);
  const size_t body = message.size() - kHeaderSize;
  if (length > body) return (ParseError::kTooShort);
  if (length < body) return (ParseError::kBadLength);
  return std::nullopt;
}

// RFC 8489 §14.7: FINGERPRINT is the last attribute, a 32-bit CRC over the message up to it, with
// the header length as transmitted (already counting FINGERPRINT), XOR 0x5354554E.
bool fingerprint_ok(ByteView message, size_t offset, uint16_t value_length, size_t total) noexcept {
  if (value_length != kFingerprintValueSize || offset + total != message.size()) return false;
  return fingerprint_of(message.first(offset)) == load_be32(message.data() + offset + 4);
}

}  // namespace

std::optional<ParseError> MessageView::parse_into(ByteView message, MessageView& view) noexcept {
  if (const auto error = header_error(message)) return error;
  const uint8_t* const data = message.data();
  view.raw_ = message;
  view.type_ = load_be16(data);

  const size_t end = message.size();
  size_t offset = kHeaderSize;
  size_t walked = 0;
  // Set once MESSAGE-INTEGRITY-SHA256 has been seen (or MESSAGE-INTEGRITY, for MI itself): past
  // that point only the attributes RFC 8489 §14.5/§14.6 name are kept.
  bool after_mi = false;
  bool after_mi256 = false;

  while (offset < end) {
    if (end - offset < kAttributeHeaderSize) return (ParseError::kTruncatedAttribute);
    const uint16_t type = load_be16(data + offset);
    const uint16_t value_length = load_be16(data + offset + 2);
    // RFC 8489 §14: values are padded to a multiple of 4; the padding is part of the message and
    // must be present (its content is ignored).
    const size_t total = kAttributeHeaderSize + padded(value_length);
    if (total > end - offset) return (ParseError::kTruncatedAttribute);
    if (++walked > kMaxAttributes) return (ParseError::kTooManyAttributes);

    // A message may be up to 20 + 65532 bytes, but AttributeRef holds 16-bit offsets: a message
    // with an attribute starting past 0xFFFF (only possible over TCP, > 64 KiB) is rejected.
    if (offset > 0xFFFF) return (ParseError::kBadLength);
    const AttributeRef ref{type, static_cast<uint16_t>(offset), value_length};

    if (type == attr::kFingerprint) {
      if (!fingerprint_ok(message, offset, value_length, total)) return ParseError::kBadFingerprint;
      view.has_fingerprint_ = true;
      view.attrs_[view.count_++] = ref;
    } else if (after_mi256) {
      // RFC 8489 §14.6: everything after MESSAGE-INTEGRITY-SHA256 but FINGERPRINT is ignored.
    } else if (type == attr::kMessageIntegritySha256) {
      view.mi256_offset_ = ref.offset;
      view.attrs_[view.count_++] = ref;
      after_mi256 = true;
    } else if (after_mi) {
      // RFC 8489 §14.5: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
      // count; a second MESSAGE-INTEGRITY and everything else is ignored.
    } else {
      if (type == attr::kMessageIntegrity) {
        view.mi_offset_ = ref.offset;
        after_mi = true;
      }
      view.attrs_[view.count_++] = ref;
    }
    offset += total;
  }
  return std::nullopt;
}

std::optional<ByteView> MessageView::find(uint16_t type) const noexcept {
  for (const AttributeRef& a : attributes()) {
    if (a.type == type) return value(a);
  }
  return std::nullopt;
}

size_t MessageView::unknown_required_attributes(std::span<uint16_t> out) const noexcept {
  // Returns how many were written (never more than out.size()), each type once.
  size_t n = 0;
  for (const AttributeRef& a : attributes()) {
    if (n == out.size()) break;
    if (!attr::is_comprehension_required(a.type) || is_known_required(a.type)) continue;
    bool duplicate = false;
    for (size_t i = 0; i < n; ++i) duplicate = duplicate || out[i] == a.type;
    if (!duplicate) out[n++] = a.type;
  }
  return n;
}

}  // namespace turnpike::stun
