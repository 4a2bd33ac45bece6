// Why a request failed the long-term credential check (RFC 8489 §9.2.4). Counted and logged by the
// server (turn::AuthFailure is this enum); decided by auth::Authenticator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace turnpike::auth {

// Why a request failed authentication (counted and logged by the caller; turn::AuthFailure).
enum class AuthFailure : uint8_t {
  kMissingAttributes,  // 400: MESSAGE-INTEGRITY without USERNAME/REALM/NONCE
  kStaleNonce,         // 438
  kInvalidNonce,       // 438: not issued by us, or for another address
  kUnknownUser,        // 401
  kExpiredUser,        // 401: TURN REST username past its expiry
  kBadIntegrity,       // 401: wrong password
  kDowngrade,          // 400: PASSWORD-ALGORITHMS does not match what we offered (RFC 8489 §9.2.4)
  kOversized,          // 400: USERNAME, REALM or NONCE over its RFC 8489 §14 limit, or a USERHASH
                       // that is not 32 bytes (refused before any hashing)
};
inline constexpr size_t kAuthFailureCount = static_cast<size_t>(AuthFailure::kOversized) + 1;
const char* to_string(AuthFailure f) noexcept;

}  // namespace turnpike::auth
