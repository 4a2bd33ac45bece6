// The long-term credential mechanism, RFC 8489 §9.2.4, with the §9.2 security features
// (PASSWORD-ALGORITHMS negotiation, USERHASH, MESSAGE-INTEGRITY-SHA256).
#include "turnpike/auth/authenticator.h"

#include <algorithm>

#include "turnpike/stun/attributes.h"
#include "turnpike/stun/integrity.h"

namespace turnpike::auth {

namespace attr = stun::attr;
using Outcome = Verdict::Outcome;

namespace {

// An attribute's encoded size: type, length, value padded to a multiple of 4 (RFC 8489 §14).
constexpr size_t padded(size_t n) noexcept { return 4 + ((n + 3) & ~size_t{3}); }

Verdict refuse(Outcome outcome, std::optional<AuthFailure> failure) noexcept {
  Verdict v;
  v.outcome = outcome;
  v.failure = failure;
  return v;
}

// RFC 8489 §14.3: USERNAME is less than 509 bytes; §14.9 / §14.10: REALM and NONCE are fewer than
// 128 characters, which can be as long as 763 bytes (UTF-8); §14.4: USERHASH is 32 bytes. A
// request over these limits is malformed: 400, before any key is derived or MAC computed.
constexpr size_t kMaxUsernameBytes = 508;
constexpr size_t kMaxRealmOrNonceBytes = 763;
constexpr size_t kUserhashBytes = 32;

bool oversized(const std::optional<ByteView>& username, const std::optional<ByteView>& userhash,
               ByteView realm, ByteView nonce) noexcept {
  return (username && username->size() > kMaxUsernameBytes) ||
         (userhash && userhash->size() != kUserhashBytes) || realm.size() > kMaxRealmOrNonceBytes ||
         nonce.size() > kMaxRealmOrNonceBytes;
}

}  // namespace

const char* to_string(AuthFailure f) noexcept {
  switch (f) {
    case AuthFailure::kMissingAttributes:
      return "missing USERNAME/REALM/NONCE";
    case AuthFailure::kStaleNonce:
      return "stale nonce";
    case AuthFailure::kInvalidNonce:
      return "invalid nonce";
    case AuthFailure::kUnknownUser:
      return "unknown user";
    case AuthFailure::kExpiredUser:
      return "expired REST username";
    case AuthFailure::kBadIntegrity:
      return "wrong credentials";
    case AuthFailure::kDowngrade:
      return "PASSWORD-ALGORITHMS mismatch";
    case AuthFailure::kOversized:
      return "oversized USERNAME/REALM/NONCE";
  }
  return "?";
}

Authenticator::Authenticator(const CredentialStore& credentials, const NonceIssuer& nonces,
                             std::string realm, bool offer_password_algorithms)
    : credentials_(credentials),
      nonces_(nonces),
      realm_(std::move(realm)),
      offer_algorithms_(offer_password_algorithms) {
  // RFC 8489 §14.11: algorithms in order of preference, each with empty parameters.
  for (const auto alg : {stun::PasswordAlgorithm::kSha256, stun::PasswordAlgorithm::kMd5}) {
    const auto v = static_cast<uint16_t>(alg);
    password_algorithms_.insert(password_algorithms_.end(),
                                {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v), 0, 0});
  }
  const size_t nonce_chars = nonces_.issue(0, SocketAddress{}, 0).size();  // the same for all
  challenge_size_ = padded(realm_.size()) + padded(nonce_chars);
}

Verdict Authenticator::verify(const stun::MessageView& msg, const SocketAddress& source,
                              Millis mono_now, int64_t unix_now) {
  const bool sha256 = msg.integrity_sha256_offset().has_value();
  // The first request of every client carries no integrity: it gets the challenge.
  if (!msg.integrity_offset() && !sha256) return refuse(Outcome::kChallenge, std::nullopt);
  const auto username_attr = msg.find(attr::kUsername);
  const auto userhash_attr = msg.find(attr::kUserhash);
  const auto realm_attr = msg.find(attr::kRealm);
  const auto nonce_attr = msg.find(attr::kNonce);
  if ((!username_attr && !userhash_attr) || !realm_attr || !nonce_attr) {
    return refuse(Outcome::kBadRequest, AuthFailure::kMissingAttributes);
  }
  if (oversized(username_attr, userhash_attr, *realm_attr, *nonce_attr)) {
    return refuse(Outcome::kBadRequest, AuthFailure::kOversized);  // before any hashing
  }
  const std::string_view nonce = as_string_view(*nonce_attr);
  const auto algorithm = negotiated_algorithm(msg, nonce);
  if (!algorithm) return refuse(Outcome::kBadRequest, AuthFailure::kDowngrade);

  std::string_view username;
  if (userhash_attr) {
    // RFC 8489 §14.4: USERHASH stands for USERNAME; only our static users can be found this way.
    const std::string* found = credentials_.username_for_hash(*userhash_attr, realm_);
    if (found == nullptr) return refuse(Outcome::kChallenge, AuthFailure::kUnknownUser);
    username = *found;
  } else {
    username = as_string_view(*username_attr);
  }
  const auto status = credentials_.keys_for(username, realm_, *algorithm, unix_now, keys_);
  if (status != LookupStatus::kFound) {
    return refuse(Outcome::kChallenge, status == LookupStatus::kExpired
                                           ? AuthFailure::kExpiredUser
                                           : AuthFailure::kUnknownUser);
  }
  const auto key = matching_key(msg, sha256);
  if (!key) return refuse(Outcome::kChallenge, AuthFailure::kBadIntegrity);
  // RFC 8489 §9.2.4 checks the nonce last: right credentials with an old (or foreign) nonce get
  // 438 and a fresh nonce; the features read above are covered by the nonce's MAC, so a nonce
  // whose feature bits were altered to dodge the downgrade check fails here.
  const auto nonce_state = nonces_.check(nonce, mono_now, source);
  if (nonce_state != NonceIssuer::Check::kValid) {
    return refuse(Outcome::kStaleNonce, nonce_state == NonceIssuer::Check::kStale
                                            ? AuthFailure::kStaleNonce
                                            : AuthFailure::kInvalidNonce);
  }
  Verdict v;
  v.outcome = Outcome::kAuthenticated;
  v.sha256_integrity = sha256;
  v.username = username;
  v.key = *key;
  return v;
}

std::optional<stun::PasswordAlgorithm> Authenticator::negotiated_algorithm(
    const stun::MessageView& msg, std::string_view nonce) const {
  // RFC 8489 §9.2.4: when our nonce offered password algorithms, a client that uses them must echo
  // PASSWORD-ALGORITHMS unchanged (downgrade protection) and pick one of them; a client that sends
  // neither attribute uses MD5 (the classic mechanism).
  const uint32_t features = NonceIssuer::features_of(nonce);
  const auto algorithms_attr = msg.find(attr::kPasswordAlgorithms);
  const auto algorithm_attr = msg.find(attr::kPasswordAlgorithm);
  if ((features & kFeaturePasswordAlgorithms) == 0 || (!algorithms_attr && !algorithm_attr)) {
    return stun::PasswordAlgorithm::kMd5;
  }
  const bool echoed = algorithms_attr && std::ranges::equal(*algorithms_attr, password_algorithms_);
  const auto chosen = algorithm_attr ? stun::decode_password_algorithm(*algorithm_attr)
                                     : stun::decode_password_algorithm({});
  if (!echoed || !chosen) return std::nullopt;
  return *chosen;
}

std::optional<Key> Authenticator::matching_key(const stun::MessageView& msg, bool sha256) const {
  for (const Key& key : keys_) {  // one per REST secret during a rotation
    const auto verdict = sha256 ? stun::verify_message_integrity_sha256(msg, key.view())
                                : stun::verify_message_integrity(msg, key.view());
    if (verdict == stun::IntegrityStatus::kOk) return key;
  }
  return std::nullopt;
}

void Authenticator::add_challenge(stun::MessageBuilder& b, Millis mono_now,
                                  const SocketAddress& client, bool offer_algorithms) const {
  uint32_t features = 0;
  if (offer_algorithms_) features |= kFeatureUsernameAnonymity;
  if (offer_algorithms) features |= kFeaturePasswordAlgorithms;
  b.add_string(attr::kRealm, realm_);
  b.add_string(attr::kNonce, nonces_.issue(mono_now, client, features));
  if (offer_algorithms) b.add(attr::kPasswordAlgorithms, password_algorithms_);
}

}  // namespace turnpike::auth
