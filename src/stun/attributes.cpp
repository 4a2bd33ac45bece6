#include "turnpike/stun/attributes.h"

namespace turnpike::stun {
namespace {

constexpr uint8_t kFamilyIPv4 = 0x01;
constexpr uint8_t kFamilyIPv6 = 0x02;
constexpr size_t kIPv4ValueSize = 8;   // reserved(1) family(1) port(2) address(4)
constexpr size_t kIPv6ValueSize = 20;  // reserved(1) family(1) port(2) address(16)
// RFC 8489 §14.8: the reason phrase is at most 127 characters, i.e. at most 763 bytes of UTF-8.
constexpr size_t kMaxReasonBytes = 763;

Result<SocketAddress, ParseError> bad() noexcept {
  return unexpected(ParseError::kBadAttributeValue);
}

// Reads reserved(1) family(1) port(2) address(4|16) (RFC 8489 §14.1). The value length must match
// the family exactly.
Result<SocketAddress, ParseError> read_address(ByteView value) noexcept {
  if (value.size() < 4) return bad();
  SocketAddress out;
  if (value[1] == kFamilyIPv4 && value.size() == kIPv4ValueSize) {
    out.ip.family = Family::kIPv4;
  } else if (value[1] == kFamilyIPv6 && value.size() == kIPv6ValueSize) {
    out.ip.family = Family::kIPv6;
  } else {
    return bad();
  }
  out.port = load_be16(value.data() + 2);
  for (size_t i = 0; i < out.ip.size(); ++i) out.ip.bytes[i] = value[4 + i];
  return out;
}

// Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(ByteView s) noexcept {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = s[i];
    size_t extra = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (s.size() - i - 1 < extra) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace

Result<SocketAddress, ParseError> decode_xor_address(ByteView value,
                                                     ByteView transaction_id) noexcept {
  if (transaction_id.size() != kTransactionIdSize) return bad();
  auto decoded = read_address(value);
  if (!decoded) return decoded;
  SocketAddress& out = decoded.value();
  // RFC 8489 §14.2: X-Port is the port XOR the top 16 bits of the magic cookie; an IPv4 address
  // is XORed with the cookie, an IPv6 address with the cookie followed by the transaction id.
  uint8_t mask[16] = {};
  store_be32(mask, kMagicCookie);
  for (size_t i = 0; i < kTransactionIdSize; ++i) mask[4 + i] = transaction_id[i];
  out.port = static_cast<uint16_t>(out.port ^ (kMagicCookie >> 16));
  for (size_t i = 0; i < out.ip.size(); ++i) out.ip.bytes[i] ^= mask[i];
  return decoded;
}

Result<SocketAddress, ParseError> decode_address(ByteView value) noexcept {
  return read_address(value);
}

Result<ErrorCodeValue, ParseError> decode_error_code(ByteView value) noexcept {
  // RFC 8489 §14.8: 21 reserved bits, Class (3 bits, the hundreds digit, 3..6), Number (8 bits,
  // 0..99), then the UTF-8 reason phrase.
  if (value.size() < 4) return unexpected(ParseError::kBadAttributeValue);
  const unsigned klass = value[2] & 0x07u;
  const unsigned number = value[3];
  if (klass < 3 || klass > 6 || number > 99) return unexpected(ParseError::kBadAttributeValue);
  const ByteView reason = value.subspan(4);
  if (reason.size() > kMaxReasonBytes || !is_valid_utf8(reason)) {
    return unexpected(ParseError::kBadAttributeValue);
  }
  return ErrorCodeValue{static_cast<uint16_t>(klass * 100 + number), as_string_view(reason)};
}

Result<uint32_t, ParseError> decode_u32(ByteView value) noexcept {
  if (value.size() != 4) return unexpected(ParseError::kBadAttributeValue);
  return load_be32(value.data());
}

Result<uint16_t, ParseError> decode_channel_number(ByteView value) noexcept {
  // The range (0x4000-0x4FFF) is the caller's check: a bad number is a 400, not a parse error.
  if (value.size() != 4) return unexpected(ParseError::kBadAttributeValue);
  return load_be16(value.data());
}

Result<uint8_t, ParseError> decode_requested_transport(ByteView value) noexcept {
  if (value.size() != 4) return unexpected(ParseError::kBadAttributeValue);
  return value[0];
}

Result<Family, ParseError> decode_address_family(ByteView value) noexcept {
  // RFC 8656 §18.8/§18.11. A family other than 0x01/0x02 cannot be represented and is reported
  // as kBadAttributeValue; a server wanting 440 for it must look at the byte itself.
  if (value.size() != 4) return unexpected(ParseError::kBadAttributeValue);
  if (value[0] == kFamilyIPv4) return Family::kIPv4;
  if (value[0] == kFamilyIPv6) return Family::kIPv6;
  return unexpected(ParseError::kBadAttributeValue);
}

Result<PasswordAlgorithm, ParseError> decode_password_algorithm(ByteView value) noexcept {
  // RFC 8489 §14.12: Algorithm(2), Algorithm Parameters Length(2), parameters padded to 4.
  if (value.size() < 4) return unexpected(ParseError::kBadAttributeValue);
  const uint16_t algorithm = load_be16(value.data());
  const size_t params_length = load_be16(value.data() + 2);
  const size_t params_present = value.size() - 4;
  if (params_present < params_length || params_present > ((params_length + 3u) & ~size_t{3})) {
    return unexpected(ParseError::kBadAttributeValue);
  }
  // Only the algorithms RFC 8489 §18.5 registers; anything else cannot have been offered.
  if (algorithm == static_cast<uint16_t>(PasswordAlgorithm::kMd5)) return PasswordAlgorithm::kMd5;
  if (algorithm == static_cast<uint16_t>(PasswordAlgorithm::kSha256)) {
    return PasswordAlgorithm::kSha256;
  }
  return unexpected(ParseError::kBadAttributeValue);
}

}  // namespace turnpike::stun
