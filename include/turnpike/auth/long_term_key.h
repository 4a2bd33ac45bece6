// Long-term credential keys (RFC 8489 §9.2.2): MD5(username ":" realm ":" password) or, with
// PASSWORD-ALGORITHM SHA-256, SHA-256 of the same string.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "turnpike/stun/constants.h"
#include "turnpike/util/bytes.h"

namespace turnpike::auth {

struct Key {
  std::array<uint8_t, 32> bytes{};
  uint8_t size = 0;  // 16 for MD5, 32 for SHA-256
  [[nodiscard]] ByteView view() const noexcept { return {bytes.data(), size}; }
};

Key long_term_key(stun::PasswordAlgorithm algorithm, std::string_view username,
                  std::string_view realm, std::string_view password) noexcept;

// RFC 8489 §14.4 USERHASH = SHA-256(username ":" realm), 32 bytes.
std::array<uint8_t, 32> userhash(std::string_view username, std::string_view realm) noexcept;

}  // namespace turnpike::auth
