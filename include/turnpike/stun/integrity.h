// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 §14.5-§14.7).
#pragma once

#include <cstdint>

#include "turnpike/stun/message_view.h"

namespace turnpike::stun {

enum class IntegrityStatus : uint8_t {
  kNoIntegrity,  // the attribute is absent
  kOk,
  kBad,          // present but does not match the key (or malformed)
};

// Verifies MESSAGE-INTEGRITY (HMAC-SHA1) with `key`, comparing in constant time.
IntegrityStatus verify_message_integrity(const MessageView& message, ByteView key) noexcept;
// Verifies MESSAGE-INTEGRITY-SHA256; accepts the truncations §14.6 allows (16..32 bytes, x4).
IntegrityStatus verify_message_integrity_sha256(const MessageView& message, ByteView key) noexcept;

// CRC-32 (ISO/IEC 3309, as used by FINGERPRINT) of the bytes, XORed with 0x5354554E.
uint32_t fingerprint_of(ByteView bytes) noexcept;

}  // namespace turnpike::stun
