// Binding (RFC 8489 §6.3.1.2, §3): the reflexive transport address. Unauthenticated, and the
// smallest amplification vector of all, so the answer never outgrows the request over UDP.
#include "request.h"
#include "turnpike/stun/attributes.h"

namespace turnpike::turn {

void Server::handle_binding(Request& req) {
  // RFC 8489 §6.3.1.2: the response carries the client's reflexive address. SOFTWARE only when
  // the answer stays no larger than the request (a 20-byte Binding is the classic reflector).
  stun::MessageBuilder b(scratch_, stun::make_type(stun::Method::kBinding, stun::Class::kSuccess),
                         req.msg.transaction_id());
  b.add_xor_address(stun::attr::kXorMappedAddress, req.client.client);
  const size_t software = 4 + ((config_.software.size() + 3) & ~size_t{3});
  if (!config_.software.empty() && fits_request(req, b.bytes().size() + software + 8)) {
    b.add_string(stun::attr::kSoftware, config_.software);
  }
  send(req, b);
}

}  // namespace turnpike::turn
