// Refresh: RFC 8656 §8.2 "Receiving a Refresh Request". The section has no numbered steps; its
// rules are followed in the order it gives them (the Section 5 checks, then 443, the "desired
// lifetime", deletion or a new time-to-expiry, the success response with LIFETIME).
#include "request.h"
#include "turnpike/stun/attributes.h"

namespace turnpike::turn {

namespace attr = stun::attr;
namespace error = stun::error;

void Server::handle_refresh(Request& req) {
  // §5: the request must come from the allocation's 5-tuple (437) with its credentials (441).
  Allocation* a = allocation_for(req);
  if (a == nullptr) return;
  // A REQUESTED-ADDRESS-FAMILY that does not match the allocation gets 443.
  if (const auto family_attr = req.msg.find(attr::kRequestedAddressFamily)) {
    const auto family = stun::decode_address_family(*family_attr);
    if (!family) return send_error(req, error::kBadRequest);
    if (*family != a->relayed.family()) return send_error(req, error::kPeerAddressFamilyMismatch);
  }
  // The "desired lifetime": 0 when LIFETIME is 0, else min(requested, maximum) but at least the
  // default (lifetime_for, shared with §7.2).
  std::optional<uint32_t> requested;
  if (const auto value = req.msg.find(attr::kLifetime)) {
    const auto seconds = stun::decode_u32(*value);
    if (!seconds) return send_error(req, error::kBadRequest);
    requested = *seconds;
  }
  uint32_t lifetime_s = 0;
  if (requested && *requested == 0) {
    delete_allocation(a->id, "deleted by client");  // desired lifetime 0: deleted, success
  } else {
    lifetime_s = lifetime_for(requested);  // the time-to-expiry is set to the desired lifetime
    a->expires = req.now.mono_ms + Millis{lifetime_s} * 1000;
    table_.schedule(*a, a->reap(req.now.mono_ms));
  }
  // The success response carries LIFETIME: the current time-to-expiry.
  stun::MessageBuilder b(scratch_, stun::make_type(stun::Method::kRefresh, stun::Class::kSuccess),
                         req.msg.transaction_id());
  b.add_u32(attr::kLifetime, lifetime_s);
  send_success(req, b);
}

}  // namespace turnpike::turn
