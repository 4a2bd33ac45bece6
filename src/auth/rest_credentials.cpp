#include "turnpike/auth/rest_credentials.h"

#include <charconv>
#include <system_error>

#include "turnpike/util/crypto.h"

namespace turnpike::auth {
namespace {
// INT64_MAX has 19 digits; anything longer cannot be a valid timestamp.
constexpr size_t kMaxExpiryDigits = 19;
}  // namespace

RestCredential mint_rest_credential(std::string_view secret, std::string_view user,
                                    int64_t expiry_unix, char separator) {
  RestCredential cred;
  cred.username = std::to_string(expiry_unix);
  if (!user.empty()) {
    cred.username.push_back(separator);
    cred.username.append(user);
  }
  cred.password = rest_password(secret, cred.username);
  return cred;
}

std::string rest_password(std::string_view secret, std::string_view username) {
  const crypto::Sha1Mac mac = crypto::hmac_sha1(as_bytes(secret), as_bytes(username));
  return crypto::base64_encode(mac);
}

std::optional<int64_t> rest_username_expiry(std::string_view username, char separator) noexcept {
  size_t digits = 0;
  while (digits < username.size() && username[digits] >= '0' && username[digits] <= '9') ++digits;
  if (digits == 0 || digits > kMaxExpiryDigits) return std::nullopt;
  if (digits < username.size() && username[digits] != separator) return std::nullopt;
  int64_t value = 0;
  const char* first = username.data();
  const auto [end, ec] = std::from_chars(first, first + digits, value);
  if (ec != std::errc{} || end != first + digits) return std::nullopt;  // out of range
  return value;
}

}  // namespace turnpike::auth
