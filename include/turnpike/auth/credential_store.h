// Where keys come from: static users from the config, and TURN REST secrets (several at once, for
// rotation: every secret is tried, the first one mints).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "turnpike/auth/long_term_key.h"
#include "turnpike/util/secret.h"

namespace turnpike::auth {

enum class LookupStatus : uint8_t {
  kFound,        // `out` holds one or more candidate keys; the caller tries each MAC
  kUnknownUser,  // no such static user and not a REST username (or no REST secrets configured)
  kExpired,      // a REST username whose timestamp is in the past
};

class CredentialStore {
 public:
  CredentialStore() = default;
  void add_static_user(std::string username, Secret password);
  void set_rest_secrets(std::vector<Secret> secrets, char separator = ':');
  [[nodiscard]] bool empty() const noexcept { return users_.empty() && rest_secrets_.empty(); }

  // Candidate keys for a username. Static users are matched first by exact name; otherwise a
  // username of REST form yields one key per configured secret. `out` is cleared first.
  LookupStatus keys_for(std::string_view username, std::string_view realm,
                        stun::PasswordAlgorithm algorithm, int64_t unix_now,
                        std::vector<Key>& out) const;

  // The quota label of a username (config allocation.max_per_label): for a TURN REST username
  // "<expiry><separator><label>" the label (empty when there is none), so every credential minted
  // for one app user or API key counts together; for a static user (or anything else) the name.
  // A view into `username`.
  [[nodiscard]] std::string_view label_of(std::string_view username) const;

  // RFC 8489 §9.2.4 USERHASH: the static username whose SHA-256(username ":" realm) matches, if
  // any (REST usernames cannot be recovered from a hash and are not looked up this way). One hash
  // lookup, not a scan over the users: the index is built on the first call for a realm (and again
  // after add_static_user), so like the rest of a store it belongs to one thread (each worker has
  // its own copy).
  [[nodiscard]] const std::string* username_for_hash(ByteView hash, std::string_view realm) const;

 private:
  using Userhash = std::array<uint8_t, 32>;
  struct UserhashHash {
    size_t operator()(const Userhash& h) const noexcept;  // its first 8 bytes (it is SHA-256)
  };
  struct UserhashEqual {
    bool operator()(const Userhash& a, const Userhash& b) const noexcept;  // constant time
  };
  void index_userhashes(std::string_view realm) const;

  std::unordered_map<std::string, Secret> users_;
  mutable std::unordered_map<Userhash, std::string, UserhashHash, UserhashEqual> by_userhash_;
  mutable std::string indexed_realm_;
  mutable bool indexed_ = false;
  std::vector<Secret> rest_secrets_;
  char separator_ = ':';
};

}  // namespace turnpike::auth
