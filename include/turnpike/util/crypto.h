// Thin wrappers over OpenSSL's libcrypto (the only crypto the project uses).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "turnpike/util/bytes.h"

namespace turnpike::crypto {

using Sha1Mac = std::array<uint8_t, 20>;
using Sha256Digest = std::array<uint8_t, 32>;
using Md5Digest = std::array<uint8_t, 16>;

// HMACs over the concatenation of `parts` (so callers need not copy a message to patch a header).
Sha1Mac hmac_sha1(ByteView key, std::span<const ByteView> parts) noexcept;
Sha256Digest hmac_sha256(ByteView key, std::span<const ByteView> parts) noexcept;
inline Sha1Mac hmac_sha1(ByteView key, ByteView data) noexcept {
  const ByteView parts[] = {data};
  return hmac_sha1(key, parts);
}
inline Sha256Digest hmac_sha256(ByteView key, ByteView data) noexcept {
  const ByteView parts[] = {data};
  return hmac_sha256(key, parts);
}

Md5Digest md5(ByteView data) noexcept;
Sha256Digest sha256(ByteView data) noexcept;

std::string base64_encode(ByteView data);
// Standard alphabet with padding; nullopt on malformed input.
std::optional<std::string> base64_decode(std::string_view text);

// Fills `out` from the OS CSPRNG (RAND_bytes). Returns false if OpenSSL cannot.
bool random_bytes(MutableByteView out) noexcept;
// 64 bits from the CSPRNG; throws std::runtime_error if OpenSSL cannot (start-up paths only).
uint64_t random_u64();

// Unpredictable 64-bit values for setup paths (RESERVATION-TOKENs, relay port choice): a keyed PRF,
// HMAC-SHA256(key, counter), with a 256-bit key drawn from the CSPRNG for each stream. Each user
// has its own stream, so no output of one tells anything about another's (or about its own later
// outputs). About a microsecond per value: not for the packet path.
class SecretStream {
 public:
  SecretStream();  // a fresh key from the CSPRNG; throws std::runtime_error if OpenSSL cannot
  uint64_t next() noexcept;

 private:
  std::array<uint8_t, 32> key_{};
  uint64_t counter_ = 0;
};

}  // namespace turnpike::crypto
