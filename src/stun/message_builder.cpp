#include "turnpike/stun/message_builder.h"

#include <stdexcept>

#include "turnpike/stun/integrity.h"
#include "turnpike/util/crypto.h"

namespace turnpike::stun {
namespace {

constexpr size_t kAttributeHeaderSize = 4;
constexpr size_t kMaxAttributesLength = 0xFFFC;  // the 16-bit length, a multiple of 4
constexpr size_t kSha1MacSize = 20;
constexpr size_t kSha256MacSize = 32;
constexpr size_t kFingerprintSize = 4;

constexpr size_t padded(size_t n) noexcept { return (n + 3u) & ~size_t{3}; }

// Appends an attribute header for a value of `value_size` bytes plus the zeroed value and padding
// (RFC 8489 §14); returns where the value starts. Never lets the 16-bit length field wrap: a
// message that large is a caller bug (e.g. a DATA too big for a Data indication), so it throws.
size_t append_attribute(std::vector<uint8_t>& buffer, uint16_t type, size_t value_size) {
  const size_t attributes_length = buffer.size() - kHeaderSize;
  if (value_size > 0xFFFF ||
      attributes_length + kAttributeHeaderSize + padded(value_size) > kMaxAttributesLength) {
    throw std::length_error("STUN message too large");
  }
  const size_t at = buffer.size();
  buffer.resize(at + kAttributeHeaderSize + padded(value_size), 0);
  store_be16(buffer.data() + at, type);
  store_be16(buffer.data() + at + 2, static_cast<uint16_t>(value_size));
  return at + kAttributeHeaderSize;
}

void copy_into(std::vector<uint8_t>& buffer, size_t at, ByteView bytes) noexcept {
  for (size_t i = 0; i < bytes.size(); ++i) buffer[at + i] = bytes[i];
}

}  // namespace

MessageBuilder::MessageBuilder(std::vector<uint8_t>& buffer, uint16_t type, ByteView transaction_id)
    : buffer_(buffer) {
  // assign, not clear + resize: GCC 12 at -O3 reports a false -Warray-bounds for the latter.
  buffer_.assign(kHeaderSize, 0);
  // RFC 8489 §6: the top two bits are always zero.
  store_be16(buffer_.data(), static_cast<uint16_t>(type & 0x3FFF));
  store_be32(buffer_.data() + 4, kMagicCookie);
  // A transaction id of the wrong size is a caller bug: take what fits, zero the rest.
  for (size_t i = 0; i < kTransactionIdSize && i < transaction_id.size(); ++i) {
    buffer_[8 + i] = transaction_id[i];
  }
}

void MessageBuilder::set_length(size_t attributes_length) noexcept {
  store_be16(buffer_.data() + 2, static_cast<uint16_t>(attributes_length));
}

void MessageBuilder::add(uint16_t type, ByteView value) {
  const size_t at = append_attribute(buffer_, type, value.size());
  copy_into(buffer_, at, value);
  set_length(buffer_.size() - kHeaderSize);
}

void MessageBuilder::add_u32(uint16_t type, uint32_t value) {
  uint8_t v[4];
  store_be32(v, value);
  add(type, v);
}

void MessageBuilder::add_address(uint16_t type, const SocketAddress& address) {
  // RFC 8489 §14.1: reserved(1) family(1) port(2) address(4|16).
  uint8_t v[20] = {};
  v[1] = static_cast<uint8_t>(address.family());
  store_be16(v + 2, address.port);
  const size_t n = address.ip.size();
  for (size_t i = 0; i < n; ++i) v[4 + i] = address.ip.bytes[i];
  add(type, ByteView(v, 4 + n));
}

void MessageBuilder::add_xor_address(uint16_t type, const SocketAddress& address) {
  // RFC 8489 §14.2: port XOR the cookie's top 16 bits; address XOR cookie || transaction id.
  uint8_t mask[16];
  store_be32(mask, kMagicCookie);
  for (size_t i = 0; i < kTransactionIdSize; ++i) mask[4 + i] = buffer_[8 + i];
  uint8_t v[20] = {};
  v[1] = static_cast<uint8_t>(address.family());
  store_be16(v + 2, static_cast<uint16_t>(address.port ^ (kMagicCookie >> 16)));
  const size_t n = address.ip.size();
  for (size_t i = 0; i < n; ++i) v[4 + i] = static_cast<uint8_t>(address.ip.bytes[i] ^ mask[i]);
  add(type, ByteView(v, 4 + n));
}

void MessageBuilder::add_error_code(uint16_t code, std::string_view reason) {
  // RFC 8489 §14.8: 21 reserved bits, Class = the hundreds digit (3 bits), Number = code % 100,
  // then the UTF-8 reason phrase.
  if (reason.empty()) reason = reason_phrase(code);
  const size_t at = append_attribute(buffer_, attr::kErrorCode, 4 + reason.size());
  buffer_[at + 2] = static_cast<uint8_t>((code / 100) & 0x07);
  buffer_[at + 3] = static_cast<uint8_t>(code % 100);
  copy_into(buffer_, at + 4, as_bytes(reason));
  set_length(buffer_.size() - kHeaderSize);
}

void MessageBuilder::add_unknown_attributes(std::span<const uint16_t> types) {
  // RFC 8489 §14.9: a list of 16-bit types, padded with zeros to a multiple of 4.
  const size_t at = append_attribute(buffer_, attr::kUnknownAttributes, types.size() * 2);
  for (size_t i = 0; i < types.size(); ++i) store_be16(buffer_.data() + at + 2 * i, types[i]);
  set_length(buffer_.size() - kHeaderSize);
}

void MessageBuilder::add_password_algorithms(std::span<const PasswordAlgorithm> algorithms) {
  // RFC 8489 §14.11: each entry is Algorithm(2) + Parameters Length(2) (= 0), no parameters.
  const size_t at = append_attribute(buffer_, attr::kPasswordAlgorithms, algorithms.size() * 4);
  for (size_t i = 0; i < algorithms.size(); ++i) {
    store_be16(buffer_.data() + at + 4 * i, static_cast<uint16_t>(algorithms[i]));
  }
  set_length(buffer_.size() - kHeaderSize);
}

void MessageBuilder::add_message_integrity(ByteView key) {
  // RFC 8489 §14.5: the HMAC covers the message up to MESSAGE-INTEGRITY, with the header length
  // already counting the MESSAGE-INTEGRITY attribute (but nothing after it).
  const size_t attributes_length = buffer_.size() - kHeaderSize;
  set_length(attributes_length + kAttributeHeaderSize + kSha1MacSize);
  const crypto::Sha1Mac mac = crypto::hmac_sha1(key, ByteView(buffer_.data(), buffer_.size()));
  set_length(attributes_length);
  add(attr::kMessageIntegrity, mac);
}

void MessageBuilder::add_message_integrity_sha256(ByteView key) {
  // RFC 8489 §14.6: as MESSAGE-INTEGRITY, with HMAC-SHA256 (full 32 bytes here).
  const size_t attributes_length = buffer_.size() - kHeaderSize;
  set_length(attributes_length + kAttributeHeaderSize + kSha256MacSize);
  const crypto::Sha256Digest mac =
      crypto::hmac_sha256(key, ByteView(buffer_.data(), buffer_.size()));
  set_length(attributes_length);
  add(attr::kMessageIntegritySha256, mac);
}

void MessageBuilder::add_fingerprint() {
  // RFC 8489 §14.7: CRC-32 of the message up to FINGERPRINT, the header length counting it.
  const size_t attributes_length = buffer_.size() - kHeaderSize;
  set_length(attributes_length + kAttributeHeaderSize + kFingerprintSize);
  const uint32_t crc = fingerprint_of(ByteView(buffer_.data(), buffer_.size()));
  set_length(attributes_length);
  add_u32(attr::kFingerprint, crc);
}

}  // namespace turnpike::stun
