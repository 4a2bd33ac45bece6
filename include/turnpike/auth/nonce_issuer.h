// Stateless nonces (RFC 8489 §9.2, §9.2.3.1): the server keeps no per-client table. A nonce carries
// its expiry and a truncated HMAC over (expiry, security features, client IP and port) under a key
// that is random per process, so it cannot be forged or moved to another client (RFC 8489 §9.2.4:
// the same nonce only for the same source address and port).
//
// Every nonce starts with the RFC 8489 nonce cookie "obMatJos2" followed by 4 base64 characters
// of the 24-bit security feature set (§9.2: bit 0 = password algorithms, bit 1 = username
// anonymity). Classic RFC 5389 clients treat the nonce as opaque, so this never affects them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"
#include "turnpike/util/time.h"

namespace turnpike::auth {

inline constexpr uint32_t kFeaturePasswordAlgorithms = 1u << 23;  // first bit of the 24 (§18.1)
inline constexpr uint32_t kFeatureUsernameAnonymity = 1u << 22;

class NonceIssuer {
 public:
  // `key`: secret bytes (the daemon uses 32 random bytes per start). `validity_ms`: nonce lifetime.
  NonceIssuer(ByteView key, Millis validity_ms);

  [[nodiscard]] std::string issue(Millis now, const SocketAddress& client, uint32_t features) const;

  enum class Check : uint8_t { kValid, kStale, kInvalid };
  // kInvalid: not ours or tampered (wrong MAC, wrong client address, malformed). kStale: ours but
  // expired.
  [[nodiscard]] Check check(std::string_view nonce, Millis now, const SocketAddress& client) const;
  // The security feature bits the nonce carries (0 for a nonce without the cookie).
  static uint32_t features_of(std::string_view nonce) noexcept;

 private:
  std::array<uint8_t, 32> key_{};
  size_t key_size_ = 0;
  Millis validity_ms_;
};

}  // namespace turnpike::auth
