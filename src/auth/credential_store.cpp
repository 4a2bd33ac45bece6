#include "turnpike/auth/credential_store.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "turnpike/auth/rest_credentials.h"
#include "turnpike/util/constant_time.h"

namespace turnpike::auth {

void CredentialStore::add_static_user(std::string username, Secret password) {
  users_.insert_or_assign(std::move(username), std::move(password));
  indexed_ = false;
}

void CredentialStore::set_rest_secrets(std::vector<Secret> secrets, char separator) {
  rest_secrets_.clear();
  // An empty shared secret would let anyone mint credentials: such entries are ignored.
  for (Secret& s : secrets) {
    if (!s.empty()) rest_secrets_.push_back(std::move(s));
  }
  separator_ = separator;
}

LookupStatus CredentialStore::keys_for(std::string_view username, std::string_view realm,
                                       stun::PasswordAlgorithm algorithm, int64_t unix_now,
                                       std::vector<Key>& out) const {
  out.clear();
  if (const auto it = users_.find(std::string(username)); it != users_.end()) {
    out.push_back(long_term_key(algorithm, username, realm, it->second.reveal()));
    return LookupStatus::kFound;
  }
  if (rest_secrets_.empty()) return LookupStatus::kUnknownUser;
  const std::optional<int64_t> expiry = rest_username_expiry(username, separator_);
  if (!expiry) return LookupStatus::kUnknownUser;
  if (*expiry < unix_now) return LookupStatus::kExpired;
  out.reserve(rest_secrets_.size());
  for (const Secret& secret : rest_secrets_) {
    std::string password = rest_password(secret.reveal(), username);
    out.push_back(long_term_key(algorithm, username, realm, password));
    OPENSSL_cleanse(password.data(), password.size());
  }
  return LookupStatus::kFound;
}

std::string_view CredentialStore::label_of(std::string_view username) const {
  if (users_.contains(std::string(username))) return username;  // static users come first
  if (!rest_username_expiry(username, separator_)) return username;
  const size_t separator = username.find(separator_);
  return separator == std::string_view::npos ? std::string_view{} : username.substr(separator + 1);
}

const std::string* CredentialStore::username_for_hash(ByteView hash, std::string_view realm) const {
  Userhash key{};
  if (hash.size() != key.size()) return nullptr;
  if (!indexed_ || indexed_realm_ != realm) index_userhashes(realm);
  std::copy(hash.begin(), hash.end(), key.begin());
  const auto it = by_userhash_.find(key);
  return it == by_userhash_.end() ? nullptr : &it->second;
}

void CredentialStore::index_userhashes(std::string_view realm) const {
  by_userhash_.clear();
  for (const auto& [name, password] : users_) by_userhash_.emplace(userhash(name, realm), name);
  indexed_realm_.assign(realm);
  indexed_ = true;
}

size_t CredentialStore::UserhashHash::operator()(const Userhash& h) const noexcept {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | h[i];
  return static_cast<size_t>(v);
}

bool CredentialStore::UserhashEqual::operator()(const Userhash& a,
                                                const Userhash& b) const noexcept {
  return constant_time_equal(a, b);
}

}  // namespace turnpike::auth
