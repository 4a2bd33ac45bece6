// ChannelBind: RFC 8656 §12.2 "Receiving a ChannelBind Request". The section lists its validity
// checks as bullets; they are numbered here in the RFC's order (1-4, then 443), followed by the
// 403 policy check, the 508 capacity checks and the binding (which also installs the permission).
#include "request.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::turn {

namespace attr = stun::attr;
namespace error = stun::error;

void Server::handle_channel_bind(Request& req) {
  // §5: the request must come from the allocation's 5-tuple (437) with its credentials (441).
  Allocation* a = allocation_for(req);
  if (a == nullptr) return;
  // Check 1: both CHANNEL-NUMBER and XOR-PEER-ADDRESS (400).
  const auto number_attr = req.msg.find(attr::kChannelNumber);
  const auto peer_attr = req.msg.find(attr::kXorPeerAddress);
  if (!number_attr || !peer_attr) return send_error(req, error::kBadRequest);
  // Check 2: the number is in 0x4000-0x4FFF (0x7FFF for RFC 5766 clients unless strict) (400).
  const auto number = stun::decode_channel_number(*number_attr);
  const auto peer = stun::decode_xor_address(*peer_attr, req.msg.transaction_id());
  const bool valid_number =
      number && (config_.strict_channel_numbers ? stun::is_valid_channel(*number)
                                                : stun::is_valid_legacy_channel(*number));
  if (!peer || !valid_number) return send_error(req, error::kBadRequest);
  // A peer of another family than the relayed address: 443.
  if (peer->family() != a->relayed.family()) {
    return send_error(req, error::kPeerAddressFamilyMismatch);
  }
  // Restrictions on the peer's address and port: 403. One of our clients' relayed addresses is
  // always allowed; never our own listeners (RFC 8656 §21.1.7) nor another port of our own host;
  // then the peer policy. The verdict is kept with the channel and judged again when stale.
  PeerVerdict verdict = judge(*peer);
  if (table_.find_by_relayed(*peer) == nullptr && !peer_reachable(*a, *peer, verdict)) {
    return send_error(req, error::kForbidden);
  }
  const Millis now = req.now.mono_ms;
  a->reap(now);
  // Checks 3 and 4: the number is not bound to another peer, nor the peer to another number (400).
  for (const Channel& c : a->channels) {
    if ((c.number == *number) != (c.peer == *peer)) return send_error(req, error::kBadRequest);
  }
  // Over a capacity limit (permissions, channels): 508.
  const bool new_permission = a->find_permission(peer->ip, now) == nullptr;
  if (new_permission && a->permissions.size() >= config_.max_permissions) {
    return send_error(req, error::kInsufficientCapacity);
  }
  const Channel channel{*number, *peer, now + config_.channel_lifetime_ms, verdict};
  if (!a->install_channel(channel, config_.max_channels)) {
    return send_error(req, error::kInsufficientCapacity);
  }
  // Binding a channel also installs or refreshes the permission for the peer's IP.
  a->install_permission(peer->ip, now + config_.permission_lifetime_ms, config_.max_permissions);
  table_.schedule(*a, a->reap(now));
  stun::MessageBuilder b(scratch_,
                         stun::make_type(stun::Method::kChannelBind, stun::Class::kSuccess),
                         req.msg.transaction_id());
  send_success(req, b);
}

}  // namespace turnpike::turn
