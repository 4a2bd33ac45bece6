// Building the answers: success and error responses (RFC 8489 §6.3.1.1-§6.3.1.2), the 401 / 438
// challenges of the long-term credential mechanism (RFC 8489 §9.2.4), 420 with UNKNOWN-ATTRIBUTES
// (§14.9), and the limits that keep unauthenticated answers from amplifying a spoofed source.
#include <algorithm>

#include "request.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::turn {

using stun::Class;
using stun::MessageBuilder;
namespace attr = stun::attr;
namespace error = stun::error;

void Server::send(Request& req, MessageBuilder& b) {
  // Every answer to an unauthenticated request (or a failed authentication) is limited per source.
  if (!req.authenticated && !charge_unauthenticated(req)) return;
  // RFC 8489 §9.2.4: once authenticated, every response (errors included) carries the same kind
  // of integrity as the request, under the same key.
  if (req.authenticated) {
    if (req.sha256_integrity) {
      b.add_message_integrity_sha256(req.key.view());
    } else {
      b.add_message_integrity(req.key.view());
    }
  }
  b.add_fingerprint();
  deps_.outbox.to_client(req.client, b.bytes());
}

void Server::send_success(Request& req, MessageBuilder& b) {
  if (!config_.software.empty()) b.add_string(attr::kSoftware, config_.software);
  send(req, b);
}

void Server::send_error(Request& req, uint16_t code) {
  MessageBuilder b(scratch_, stun::make_type(req.msg.method(), Class::kError),
                   req.msg.transaction_id());
  add_error_code(req, b, code, 0);
  send(req, b);
}

// ERROR-CODE, with the reason phrase unless the answer goes unauthenticated over UDP and the phrase
// would make it larger than the request (`rest`: the attributes that follow, FINGERPRINT aside).
// RFC 8489 §14.8: the phrase is for humans; class and number carry the meaning.
void Server::add_error_code(const Request& req, MessageBuilder& b, uint16_t code, size_t rest) {
  const auto padded = [](size_t n) { return 4 + ((n + 3) & ~size_t{3}); };
  const size_t full = stun::kHeaderSize + padded(4 + stun::reason_phrase(code).size()) + rest + 8;
  if (req.authenticated || fits_request(req, full)) {
    b.add_error_code(code);
    return;
  }
  const uint8_t value[4] = {0, 0, static_cast<uint8_t>(code / 100),
                            static_cast<uint8_t>(code % 100)};
  b.add(attr::kErrorCode, value);
}

void Server::send_challenge(Request& req, uint16_t code) {
  // 401 and 438 are never integrity-protected: the client has no usable key yet (RFC 8489 §9.2.4).
  req.authenticated = false;
  if (!charge_unauthenticated(req)) return;  // before the nonce HMAC: a flood costs nothing more
  // Over UDP the challenge must not be larger than the request (spoofed sources would make us an
  // amplifier). ERROR-CODE, REALM and NONCE are required; the optional parts go in, in this order,
  // while they fit: FINGERPRINT (when the request had one), PASSWORD-ALGORITHMS with the nonce's
  // feature bit (RFC 8489 §9.2: offered only when the attribute is there), the reason phrase.
  // A request smaller than the required part gets just that (a bounded, constant excess).
  const auto padded = [](size_t n) { return 4 + ((n + 3) & ~size_t{3}); };
  const std::string_view reason = stun::reason_phrase(code);
  size_t size = stun::kHeaderSize + padded(4) + authenticator_.challenge_size();
  const bool fingerprint = req.msg.has_fingerprint() || req.client.transport != Transport::kUdp;
  if (fingerprint) size += 8;
  const size_t budget =
      std::max(size, fits_request(req, SIZE_MAX) ? SIZE_MAX : req.msg.raw().size());
  const size_t algorithms_size = auth::Authenticator::password_algorithms_size();
  const bool algorithms =
      authenticator_.offers_password_algorithms() && size + algorithms_size <= budget;
  if (algorithms) size += algorithms_size;
  const bool with_reason = size + padded(4 + reason.size()) - padded(4) <= budget;
  MessageBuilder b(scratch_, stun::make_type(req.msg.method(), Class::kError),
                   req.msg.transaction_id());
  if (with_reason) {
    b.add_error_code(code);
  } else {  // class and number only (RFC 8489 §14.8: the reason phrase is for humans)
    const uint8_t value[4] = {0, 0, static_cast<uint8_t>(code / 100),
                              static_cast<uint8_t>(code % 100)};
    b.add(attr::kErrorCode, value);
  }
  authenticator_.add_challenge(b, req.now.mono_ms, req.client.client, algorithms);
  if (fingerprint) b.add_fingerprint();
  deps_.outbox.to_client(req.client, b.bytes());
}

void Server::send_unknown_attributes(Request& req, std::span<const uint16_t> types) {
  MessageBuilder b(scratch_, stun::make_type(req.msg.method(), Class::kError),
                   req.msg.transaction_id());
  add_error_code(req, b, error::kUnknownAttribute, 4 + ((types.size() * 2 + 3) & ~size_t{3}));
  b.add_unknown_attributes(types);
  send(req, b);
}

bool Server::charge_unauthenticated(Request& req) noexcept {
  if (req.charged) return true;
  req.charged = true;
  if (unauthenticated_.allow(req.client.client.ip, req.now.mono_ms)) return true;
  counters_.add(metric::kUnauthenticatedDropped);
  return false;
}

// A request with MESSAGE-INTEGRITY pays a token before the authenticator derives a key or computes
// a MAC (USERHASH lookup, REST password, MD5/SHA-256 key, HMAC, nonce MAC): a forged one has paid
// for its work, and once the source's bucket is empty forged requests are dropped unprocessed.
// A request that authenticates gets its token back (valid requests cost nothing). The owner of an
// allocation (its 5-tuple and USERNAME) is verified even when its source's bucket is empty, so a
// flood spoofing its address cannot stop its Refreshes and permissions; if such a request fails,
// it still has not paid, so its answer is dropped (send() charges it).
bool Server::pay_before_verifying(Request& req) noexcept {
  if (req.charged) return true;  // paid on arrival (no integrity)
  if (unauthenticated_.allow(req.client.client.ip, req.now.mono_ms)) {
    req.charged = true;
    req.refund = true;
    return true;
  }
  const Allocation* a = table_.find(req.client);
  const auto username = req.msg.find(attr::kUsername);
  if (a != nullptr && username && as_string_view(*username) == a->username) return true;
  req.charged = true;
  counters_.add(metric::kUnauthenticatedDropped);
  return false;
}

bool Server::fits_request(const Request& req, size_t size) const noexcept {
  // Over TCP/TLS the source address is proven by the handshake: nothing can be reflected.
  if (!config_.small_challenges || req.client.transport != Transport::kUdp) return true;
  return size <= req.msg.raw().size();
}

}  // namespace turnpike::turn
