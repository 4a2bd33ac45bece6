// The long-term credential mechanism (RFC 8489 §9.2), server side, as a pure verdict: no sockets,
// no log, no clock (the caller passes the time). It checks a request's USERNAME or USERHASH, REALM,
// NONCE, PASSWORD-ALGORITHMS / PASSWORD-ALGORITHM and MESSAGE-INTEGRITY(-SHA256) in the order of
// RFC 8489 §9.2.4, and writes the REALM / NONCE / PASSWORD-ALGORITHMS part of 401 and 438
// challenges. The caller builds and sends the responses (and limits what it answers).
//
// Classic RFC 5389 clients (browsers) never send the §9.2 security-feature attributes and get
// exactly the classic exchange.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "turnpike/auth/auth_failure.h"
#include "turnpike/auth/credential_store.h"
#include "turnpike/auth/long_term_key.h"
#include "turnpike/auth/nonce_issuer.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"
#include "turnpike/util/socket_address.h"
#include "turnpike/util/time.h"

namespace turnpike::auth {

// What to do with a request. kAuthenticated: `key` verified its integrity (answer with the same
// kind of MESSAGE-INTEGRITY under it). kBadRequest: 400 without integrity. kChallenge /
// kStaleNonce: 401 / 438 with a challenge (add_challenge).
struct Verdict {
  enum class Outcome : uint8_t { kAuthenticated, kBadRequest, kChallenge, kStaleNonce };
  Outcome outcome = Outcome::kChallenge;
  std::optional<AuthFailure> failure;  // none for the first, integrity-less request of a client
  bool sha256_integrity = false;       // MESSAGE-INTEGRITY-SHA256 (else MESSAGE-INTEGRITY)
  std::string_view username;           // into the request, or the store for a USERHASH
  Key key;
  [[nodiscard]] bool authenticated() const noexcept { return outcome == Outcome::kAuthenticated; }
};

class Authenticator {
 public:
  // `offer_password_algorithms`: offer RFC 8489 PASSWORD-ALGORITHMS (SHA-256, MD5) in challenges.
  Authenticator(const CredentialStore& credentials, const NonceIssuer& nonces, std::string realm,
                bool offer_password_algorithms);

  // RFC 8489 §9.2.4 for one request from `source`. Not const: reuses a key buffer (no allocation
  // once warm). The verdict borrows from `request` and the credential store.
  Verdict verify(const stun::MessageView& request, const SocketAddress& source, Millis mono_now,
                 int64_t unix_now);

  // The challenge attributes after ERROR-CODE: REALM, a fresh NONCE for `client` and, with
  // `offer_algorithms`, PASSWORD-ALGORITHMS (the nonce then carries that feature bit, RFC 8489
  // §9.2).
  void add_challenge(stun::MessageBuilder& builder, Millis mono_now, const SocketAddress& client,
                     bool offer_algorithms) const;
  // Encoded size of REALM + NONCE (without PASSWORD-ALGORITHMS), and of PASSWORD-ALGORITHMS alone.
  [[nodiscard]] size_t challenge_size() const noexcept { return challenge_size_; }
  [[nodiscard]] static constexpr size_t password_algorithms_size() noexcept { return 12; }
  [[nodiscard]] bool offers_password_algorithms() const noexcept { return offer_algorithms_; }

 private:
  // §9.2.4: the algorithm the request uses (MD5 unless it negotiated); nullopt: a downgrade.
  [[nodiscard]] std::optional<stun::PasswordAlgorithm> negotiated_algorithm(
      const stun::MessageView& request, std::string_view nonce) const;
  // The first candidate key under which the request's integrity verifies, if any.
  [[nodiscard]] std::optional<Key> matching_key(const stun::MessageView& request,
                                                bool sha256) const;

  const CredentialStore& credentials_;
  const NonceIssuer& nonces_;
  std::string realm_;
  bool offer_algorithms_;
  std::vector<uint8_t> password_algorithms_;  // PASSWORD-ALGORITHMS value we offer (encoded)
  std::vector<Key> keys_;                     // reused by verify()
  size_t challenge_size_ = 0;
};

}  // namespace turnpike::auth
