// STUN/TURN client-side helpers over the codec (stun/*): transaction ids, the long-term
// credential mechanism (RFC 8489 §9.2) as a client does it, and a response summary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "turnpike/auth/long_term_key.h"
#include "turnpike/stun/constants.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"

namespace turnpike::cli {

// 96 random bits from the OS CSPRNG (RFC 8489 §6: uniformly and randomly chosen).
stun::TransactionId new_transaction_id();

// The client half of the long-term credential mechanism. Classic MD5 keys: the client does not
// send PASSWORD-ALGORITHM(S), which RFC 8489 §9.2.4 allows (the server then uses MD5).
struct LongTermAuth {
  std::string username;
  std::string password;
  std::string realm;
  std::string nonce;
  auth::Key key;

  [[nodiscard]] bool ready() const noexcept { return !realm.empty() && !nonce.empty(); }
  // Takes REALM and NONCE from a 401/438 error response (recomputing the key when the realm
  // changed). False when either is missing.
  bool absorb_challenge(const stun::MessageView& response);
  // Appends USERNAME, REALM, NONCE, MESSAGE-INTEGRITY and FINGERPRINT (must be the last step).
  void sign(stun::MessageBuilder& b) const;
};

struct ResponseSummary {
  stun::Class cls = stun::Class::kSuccess;
  uint16_t error_code = 0;  // 0 for a success response, or when the error has no valid ERROR-CODE
  std::string_view reason;
};
ResponseSummary summarize(const stun::MessageView& response) noexcept;

// "Allocate", "Refresh", ...
const char* method_name(stun::Method m) noexcept;

}  // namespace turnpike::cli
