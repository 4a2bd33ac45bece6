// CreatePermission: RFC 8656 §10.2 "Receiving a CreatePermission Request" (permissions: §9). The
// section has no numbered steps; its checks are made in the order it lists them, every
// XOR-PEER-ADDRESS checked before any permission is installed.
#include <algorithm>
#include <array>

#include "request.h"
#include "turnpike/stun/attributes.h"

namespace turnpike::turn {

namespace attr = stun::attr;
namespace error = stun::error;

void Server::handle_create_permission(Request& req) {
  // §5: the request must come from the allocation's 5-tuple (437) with its credentials (441).
  Allocation* a = allocation_for(req);
  if (a == nullptr) return;
  a->reap(req.now.mono_ms);  // expired permissions do not count against the cap
  std::array<IpAddress, 16> peers{};
  size_t count = 0;
  size_t fresh = 0;
  for (const stun::AttributeRef& ref : req.msg.attributes()) {
    if (ref.type != attr::kXorPeerAddress) continue;
    const auto peer = stun::decode_xor_address(req.msg.value(ref), req.msg.transaction_id());
    // An invalid XOR-PEER-ADDRESS (or more than we take in one request): 400.
    if (!peer || count == peers.size()) return send_error(req, error::kBadRequest);
    // A peer of another family than the relayed address: 443.
    if (peer->family() != a->relayed.family()) {
      return send_error(req, error::kPeerAddressFamilyMismatch);
    }
    // A peer our policy does not allow: 403.
    if (!peer_allowed(*a, *peer)) return send_error(req, error::kForbidden);
    const auto seen = peers.begin() + static_cast<std::ptrdiff_t>(count);
    if (a->find_permission(peer->ip, 0) == nullptr &&
        std::find(peers.begin(), seen, peer->ip) == seen) {
      ++fresh;
    }
    peers[count++] = peer->ip;
  }
  // At least one XOR-PEER-ADDRESS is required: 400.
  if (count == 0) return send_error(req, error::kBadRequest);
  // Valid, but over a capacity limit (max_permissions): 508.
  if (a->permissions.size() + fresh > config_.max_permissions) {
    return send_error(req, error::kInsufficientCapacity);
  }
  // Install or refresh a permission for each IP (§9: the port is ignored), then succeed with no
  // mandatory attributes.
  const Millis expires = req.now.mono_ms + config_.permission_lifetime_ms;
  for (size_t i = 0; i < count; ++i) {
    a->install_permission(peers[i], expires, config_.max_permissions);
  }
  table_.schedule(*a, a->reap(req.now.mono_ms));
  stun::MessageBuilder b(scratch_,
                         stun::make_type(stun::Method::kCreatePermission, stun::Class::kSuccess),
                         req.msg.transaction_id());
  send_success(req, b);
}

}  // namespace turnpike::turn
