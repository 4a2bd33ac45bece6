#include "turnpike/auth/long_term_key.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "turnpike/util/crypto.h"

namespace turnpike::auth {
namespace {

// "a:b" or "a:b:c". The buffer may hold a password, so callers wipe it after use.
std::string join(std::string_view a, std::string_view b, std::string_view c, bool with_c) {
  std::string s;
  s.reserve(a.size() + b.size() + c.size() + 2);
  s.append(a).push_back(':');
  s.append(b);
  if (with_c) s.append(1, ':').append(c);
  return s;
}

void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

}  // namespace

Key long_term_key(stun::PasswordAlgorithm algorithm, std::string_view username,
                  std::string_view realm, std::string_view password) noexcept {
  std::string input = join(username, realm, password, true);
  Key key;
  if (algorithm == stun::PasswordAlgorithm::kSha256) {
    const crypto::Sha256Digest d = crypto::sha256(as_bytes(input));
    std::copy(d.begin(), d.end(), key.bytes.begin());
    key.size = static_cast<uint8_t>(d.size());
  } else {
    const crypto::Md5Digest d = crypto::md5(as_bytes(input));
    std::copy(d.begin(), d.end(), key.bytes.begin());
    key.size = static_cast<uint8_t>(d.size());
  }
  wipe(input);
  return key;
}

std::array<uint8_t, 32> userhash(std::string_view username, std::string_view realm) noexcept {
  const std::string input = join(username, realm, {}, false);
  return crypto::sha256(as_bytes(input));
}

}  // namespace turnpike::auth
