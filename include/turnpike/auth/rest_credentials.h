// TURN REST time-limited credentials (draft-uberti-behave-turn-rest-00 §2.2):
//   username = <unix-expiry-timestamp> [ <separator> <user-id> ]
//   password = base64(HMAC-SHA1(shared-secret, username))
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace turnpike::auth {

struct RestCredential {
  std::string username;
  std::string password;
};

// Mints a credential that expires at `expiry_unix` (seconds). An empty user gives "<expiry>".
RestCredential mint_rest_credential(std::string_view secret, std::string_view user,
                                    int64_t expiry_unix, char separator = ':');

// base64(HMAC-SHA1(secret, username)).
std::string rest_password(std::string_view secret, std::string_view username);

// The expiry timestamp at the front of a REST username, or nullopt when the username does not
// have that form (digits, then end of string or the separator). Never throws; rejects overflow.
std::optional<int64_t> rest_username_expiry(std::string_view username,
                                            char separator = ':') noexcept;

}  // namespace turnpike::auth
