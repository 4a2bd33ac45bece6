#include "turnpike/stun/integrity.h"

#include <array>

#include "turnpike/stun/crc32.h"
#include "turnpike/util/constant_time.h"
#include "turnpike/util/crypto.h"

namespace turnpike::stun {
namespace {

constexpr size_t kAttributeHeaderSize = 4;
constexpr size_t kSha1MacSize = 20;
constexpr size_t kMinSha256MacSize = 16;
constexpr size_t kMaxSha256MacSize = 32;

// The 20-byte header with its length field rewritten to end right after the attribute at
// `attr_offset` whose value (already a multiple of 4) is `value_length` bytes: RFC 8489
// §14.5/§14.6 compute the HMAC as if that attribute were the last one.
std::array<uint8_t, kHeaderSize> patched_header(ByteView raw, size_t attr_offset,
                                                size_t value_length) noexcept {
  std::array<uint8_t, kHeaderSize> header{};
  for (size_t i = 0; i < kHeaderSize; ++i) header[i] = raw[i];
  store_be16(header.data() + 2, static_cast<uint16_t>(attr_offset + kAttributeHeaderSize +
                                                      value_length - kHeaderSize));
  return header;
}

}  // namespace

IntegrityStatus verify_message_integrity(const MessageView& message, ByteView key) noexcept {
  const auto offset = message.integrity_offset();
  if (!offset) return IntegrityStatus::kNoIntegrity;
  const ByteView raw = message.raw();
  const size_t at = *offset;
  // parse() guarantees the attribute (header + padded value) lies inside raw.
  const size_t value_length = load_be16(raw.data() + at + 2);
  if (value_length != kSha1MacSize) return IntegrityStatus::kBad;

  const auto header = patched_header(raw, at, value_length);
  const ByteView parts[] = {ByteView(header), raw.subspan(kHeaderSize, at - kHeaderSize)};
  const crypto::Sha1Mac mac = crypto::hmac_sha1(key, parts);
  const ByteView received = raw.subspan(at + kAttributeHeaderSize, kSha1MacSize);
  return constant_time_equal(ByteView(mac), received) ? IntegrityStatus::kOk
                                                      : IntegrityStatus::kBad;
}

IntegrityStatus verify_message_integrity_sha256(const MessageView& message, ByteView key) noexcept {
  const auto offset = message.integrity_sha256_offset();
  if (!offset) return IntegrityStatus::kNoIntegrity;
  const ByteView raw = message.raw();
  const size_t at = *offset;
  // RFC 8489 §14.6: the HMAC may be truncated to 16..32 bytes in steps of 4 (the leftmost bytes).
  const size_t value_length = load_be16(raw.data() + at + 2);
  if (value_length < kMinSha256MacSize || value_length > kMaxSha256MacSize ||
      value_length % 4 != 0) {
    return IntegrityStatus::kBad;
  }

  const auto header = patched_header(raw, at, value_length);
  const ByteView parts[] = {ByteView(header), raw.subspan(kHeaderSize, at - kHeaderSize)};
  const crypto::Sha256Digest mac = crypto::hmac_sha256(key, parts);
  const ByteView received = raw.subspan(at + kAttributeHeaderSize, value_length);
  return constant_time_equal(ByteView(mac).first(value_length), received) ? IntegrityStatus::kOk
                                                                          : IntegrityStatus::kBad;
}

uint32_t fingerprint_of(ByteView bytes) noexcept { return crc32(bytes) ^ kFingerprintXor; }

}  // namespace turnpike::stun
