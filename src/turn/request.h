// The request being answered, shared by the files of src/turn (private to it).
#pragma once

#include <string>

#include "turnpike/auth/long_term_key.h"
#include "turnpike/stun/message_view.h"
#include "turnpike/turn/server.h"

namespace turnpike::turn {

struct Server::Request {
  const FiveTuple& client;
  const stun::MessageView& msg;
  const Now& now;
  // Filled by authenticate() from the authenticator's verdict. Once `authenticated`, every response
  // (error ones included, RFC 8489 §9.2.4) carries MESSAGE-INTEGRITY (or -SHA256, matching the
  // request) under `key`.
  bool authenticated = false;
  bool sha256_integrity = false;
  std::string username;
  auth::Key key;
  // The unauthenticated-request limit was applied (a token taken) for this request.
  bool charged = false;
  // A token was taken before verifying the request's integrity: returned if it authenticates.
  bool refund = false;
};

}  // namespace turnpike::turn
