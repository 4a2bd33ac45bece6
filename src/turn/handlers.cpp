// The TURN request handlers (RFC 8656 §7.2 Allocate, §8.2 Refresh, §10.2 CreatePermission, §12.2
// ChannelBind). Each runs after authenticate() succeeded; every reply carries MESSAGE-INTEGRITY.
#include <algorithm>
#include <array>

#include "request.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"

namespace turnpike::turn {

using stun::Class;
using stun::MessageBuilder;
using stun::Method;
namespace attr = stun::attr;
namespace error = stun::error;

namespace {

constexpr uint8_t kProtocolUdp = 17;

std::optional<uint32_t> lifetime_attribute(const stun::MessageView& msg, bool& malformed) {
  malformed = false;
  const auto value = msg.find(attr::kLifetime);
  if (!value) return std::nullopt;
  const auto seconds = stun::decode_u32(*value);
  if (!seconds) {
    malformed = true;
    return std::nullopt;
  }
  return *seconds;
}

SocketAddress advertised(const SocketAddress& local, const ServerConfig& config) {
  SocketAddress out = local;
  const auto& public_ip =
      local.family() == Family::kIPv4 ? config.advertised_ipv4 : config.advertised_ipv6;
  if (public_ip) out.ip = *public_ip;
  return out;
}

}  // namespace

void Server::handle_allocate(Request& req) {
  const stun::MessageView& msg = req.msg;
  const Millis now = req.now.mono_ms;
  if (Allocation* existing = table_.find(req.client)) {
    // RFC 8656 §7.2 step 2: a retransmitted Allocate gets the same success again; any other
    // Allocate on a 5-tuple that has an allocation is a mismatch.
    if (std::ranges::equal(existing->allocate_transaction, msg.transaction_id())) {
      const auto left_s =
          static_cast<uint32_t>(std::max<Millis>(0, existing->expires - now) / 1000);
      return send_allocate_success(req, *existing, left_s, false);
    }
    return send_error(req, error::kAllocationMismatch);
  }
  // Shutting down (SIGTERM with shutdown.grace_period): no new allocations. 508 tells the client
  // to use another server (RFC 8656 §7.2: the server is out of capacity), unlike a 403.
  if (draining_) {
    ++stats_.draining_refused;
    return send_error(req, error::kInsufficientCapacity);
  }
  // Step 3: REQUESTED-TRANSPORT is mandatory; we relay UDP only (TCP relays, RFC 6062: 442).
  const auto transport = msg.find(attr::kRequestedTransport);
  if (!transport) return send_error(req, error::kBadRequest);
  const auto protocol = stun::decode_requested_transport(*transport);
  if (!protocol) return send_error(req, error::kBadRequest);
  if (*protocol != kProtocolUdp) return send_error(req, error::kUnsupportedTransportProtocol);
  // Step 4: we do not set DF on relayed datagrams, so DONT-FRAGMENT is an unknown attribute.
  if (msg.find(attr::kDontFragment)) {
    const uint16_t dont_fragment[] = {attr::kDontFragment};
    return send_unknown_attributes(req, dont_fragment);
  }
  const auto token = msg.find(attr::kReservationToken);
  const auto even_port = msg.find(attr::kEvenPort);
  const auto requested_family = msg.find(attr::kRequestedAddressFamily);
  const auto additional_family = msg.find(attr::kAdditionalAddressFamily);
  // Steps 5-6: RESERVATION-TOKEN excludes EVEN-PORT and REQUESTED-ADDRESS-FAMILY; the two family
  // attributes exclude each other.
  if (token && (even_port || requested_family || additional_family)) {
    return send_error(req, error::kBadRequest);
  }
  if (requested_family && additional_family) return send_error(req, error::kBadRequest);

  RelayRequest relay;
  if (requested_family) {
    const auto family = stun::decode_address_family(*requested_family);
    if (!family) return send_error(req, error::kBadRequest);
    if (*family == Family::kIPv6 && !config_.ipv6_relay) {
      return send_error(req, error::kAddressFamilyNotSupported);
    }
    relay.family = *family;
  }
  // ADDITIONAL-ADDRESS-FAMILY asks for an extra IPv6 relay (RFC 8656 §7.2). We give one relayed
  // address per allocation: the IPv4 one, with ADDRESS-ERROR-CODE 440 for the IPv6 part.
  bool additional_refused = false;
  if (additional_family) {
    const auto family = stun::decode_address_family(*additional_family);
    if (!family || *family != Family::kIPv6) return send_error(req, error::kBadRequest);
    additional_refused = true;
  }
  bool reserve_next = false;
  if (even_port) {
    if (even_port->empty()) return send_error(req, error::kBadRequest);
    relay.even_port = true;
    reserve_next = ((*even_port)[0] & 0x80) != 0;  // the R bit
    relay.reserve_next = reserve_next;
    // Step 8: a reservation is for one family only.
    if (reserve_next && additional_family) return send_error(req, error::kBadRequest);
  }
  Allocation* holder = nullptr;
  if (token) {
    // RFC 8656 §7.2: a token that is not (or no longer) valid gets 508.
    if (token->size() != 8) return send_error(req, error::kBadRequest);
    uint64_t value = 0;
    for (const uint8_t byte : *token) value = (value << 8) | byte;
    // The registry shared by all workers is the one source of truth; a token is redeemed once.
    const auto reserved = deps_.relays.take_shared_reservation(value);
    const auto it = reservations_.find(value);
    holder = it == reservations_.end() ? nullptr : table_.find(it->second);
    if (holder != nullptr && holder->reserved_port != 0) {  // minted by this worker
      relay.family = holder->relay_local.family();
      relay.port = holder->reserved_port;
    } else if (reserved) {  // minted by another worker
      holder = nullptr;
      relay.family = reserved->first;
      relay.port = reserved->second;
    } else {
      return send_error(req, error::kInsufficientCapacity);
    }
  }
  // Step 8: quotas (per user: 486; server capacity: 508).
  if (table_.count_for_user(req.username) >= config_.max_allocations_per_user) {
    return send_error(req, error::kAllocationQuotaReached);
  }
  if (table_.size() >= config_.max_allocations) {
    return send_error(req, error::kInsufficientCapacity);
  }
  bool malformed = false;
  const auto requested_lifetime = lifetime_attribute(msg, malformed);
  if (malformed) return send_error(req, error::kBadRequest);
  if (holder != nullptr) forget_reservation(*holder);  // the held port goes to the new socket

  const AllocationId id = table_.reserve_slot();
  const auto local = deps_.relays.open(id, relay);
  if (!local) {
    table_.release_slot(id);
    return send_error(req, error::kInsufficientCapacity);  // no relay port free
  }
  Allocation a;
  a.id = id;
  a.client = req.client;
  a.relay_local = *local;
  a.relayed = advertised(*local, config_);
  a.username = req.username;
  std::ranges::copy(msg.transaction_id(), a.allocate_transaction.begin());
  const uint32_t lifetime_s = lifetime_for(requested_lifetime);
  a.expires = now + Millis{lifetime_s} * 1000;
  if (reserve_next) {  // the relay allocator holds local port + 1 for us
    a.reserved_port = static_cast<uint16_t>(local->port + 1);
    a.reservation_token = unguessable_token() | 1;  // never 0
    a.reservation_expires = now + config_.reservation_lifetime_ms;
    reservations_[a.reservation_token] = id;
    deps_.relays.share_reservation(a.reservation_token, local->family(), a.reserved_port);
  }
  Allocation& stored = table_.commit(std::move(a));
  table_.schedule(stored, stored.reap(now));
  ++stats_.allocations_created;
  deps_.observer.on_allocation_created(stored.client, stored.relayed, stored.username);
  send_allocate_success(req, stored, lifetime_s, additional_refused);
}

void Server::send_allocate_success(Request& req, const Allocation& a, uint32_t lifetime_s,
                                   bool additional_family_refused) {
  MessageBuilder b(scratch_, stun::make_type(Method::kAllocate, Class::kSuccess),
                   req.msg.transaction_id());
  b.add_xor_address(attr::kXorRelayedAddress, a.relayed);
  if (additional_family_refused) {
    // ADDRESS-ERROR-CODE (RFC 8656 §18.12): family, reserved, then the ERROR-CODE layout.
    const std::string_view reason = stun::reason_phrase(error::kAddressFamilyNotSupported);
    std::vector<uint8_t> value = {static_cast<uint8_t>(Family::kIPv6), 0, 4, 40};
    value.insert(value.end(), reason.begin(), reason.end());
    b.add(attr::kAddressErrorCode, value);
  }
  b.add_u32(attr::kLifetime, lifetime_s);
  if (a.reservation_token != 0) {
    std::array<uint8_t, 8> token{};
    for (size_t i = 0; i < 8; ++i)
      token[i] = static_cast<uint8_t>(a.reservation_token >> (56 - 8 * i));
    b.add(attr::kReservationToken, token);
  }
  b.add_xor_address(attr::kXorMappedAddress, req.client.client);
  send_success(req, b);
}

void Server::handle_refresh(Request& req) {
  Allocation* a = allocation_for(req);
  if (a == nullptr) return;
  // RFC 8656 §8.2: a REQUESTED-ADDRESS-FAMILY that does not match the allocation gets 443.
  if (const auto family_attr = req.msg.find(attr::kRequestedAddressFamily)) {
    const auto family = stun::decode_address_family(*family_attr);
    if (!family) return send_error(req, error::kBadRequest);
    if (*family != a->relayed.family()) return send_error(req, error::kPeerAddressFamilyMismatch);
  }
  bool malformed = false;
  const auto requested = lifetime_attribute(req.msg, malformed);
  if (malformed) return send_error(req, error::kBadRequest);
  uint32_t lifetime_s = 0;
  if (requested && *requested == 0) {
    delete_allocation(a->id, "deleted by client");  // lifetime 0: delete now
  } else {
    lifetime_s = lifetime_for(requested);
    a->expires = req.now.mono_ms + Millis{lifetime_s} * 1000;
    table_.schedule(*a, a->reap(req.now.mono_ms));
  }
  MessageBuilder b(scratch_, stun::make_type(Method::kRefresh, Class::kSuccess),
                   req.msg.transaction_id());
  b.add_u32(attr::kLifetime, lifetime_s);
  send_success(req, b);
}

void Server::handle_create_permission(Request& req) {
  Allocation* a = allocation_for(req);
  if (a == nullptr) return;
  // RFC 8656 §10.2: one or more XOR-PEER-ADDRESS; all are checked before any is installed.
  a->reap(req.now.mono_ms);  // expired permissions do not count against the cap
  std::array<IpAddress, 16> peers{};
  size_t count = 0;
  size_t fresh = 0;
  for (const stun::AttributeRef& ref : req.msg.attributes()) {
    if (ref.type != attr::kXorPeerAddress) continue;
    const auto peer = stun::decode_xor_address(req.msg.value(ref), req.msg.transaction_id());
    if (!peer || count == peers.size()) return send_error(req, error::kBadRequest);
    if (peer->family() != a->relayed.family()) {
      return send_error(req, error::kPeerAddressFamilyMismatch);
    }
    if (!peer_allowed(*a, *peer)) return send_error(req, error::kForbidden);
    if (a->find_permission(peer->ip, 0) == nullptr &&
        std::find(peers.begin(), peers.begin() + static_cast<std::ptrdiff_t>(count), peer->ip) ==
            peers.begin() + static_cast<std::ptrdiff_t>(count)) {
      ++fresh;
    }
    peers[count++] = peer->ip;
  }
  if (count == 0) return send_error(req, error::kBadRequest);
  if (a->permissions.size() + fresh > config_.max_permissions) {
    return send_error(req, error::kInsufficientCapacity);
  }
  const Millis expires = req.now.mono_ms + config_.permission_lifetime_ms;
  for (size_t i = 0; i < count; ++i)
    a->install_permission(peers[i], expires, config_.max_permissions);
  table_.schedule(*a, a->reap(req.now.mono_ms));
  MessageBuilder b(scratch_, stun::make_type(Method::kCreatePermission, Class::kSuccess),
                   req.msg.transaction_id());
  send_success(req, b);
}

void Server::handle_channel_bind(Request& req) {
  Allocation* a = allocation_for(req);
  if (a == nullptr) return;
  const auto number_attr = req.msg.find(attr::kChannelNumber);
  const auto peer_attr = req.msg.find(attr::kXorPeerAddress);
  if (!number_attr || !peer_attr) return send_error(req, error::kBadRequest);
  const auto number = stun::decode_channel_number(*number_attr);
  const auto peer = stun::decode_xor_address(*peer_attr, req.msg.transaction_id());
  const bool valid_number =
      number && (config_.strict_channel_numbers ? stun::is_valid_channel(*number)
                                                : stun::is_valid_legacy_channel(*number));
  if (!peer || !valid_number) {
    return send_error(req, error::kBadRequest);
  }
  if (peer->family() != a->relayed.family()) {
    return send_error(req, error::kPeerAddressFamilyMismatch);
  }
  if (is_own_listener(*peer)) {  // RFC 8656 §21.1.7: never a channel to our own listeners
    ++stats_.own_listener_denied;
    ++stats_.peer_denied;
    deps_.observer.on_peer_denied(a->client, *peer);
    return send_error(req, error::kForbidden);
  }
  if (!peer_allowed(*a, *peer)) return send_error(req, error::kForbidden);
  const Millis now = req.now.mono_ms;
  a->reap(now);
  // RFC 8656 §12.2: the number may not be bound to another peer, nor the peer to another number.
  for (const Channel& c : a->channels) {
    if ((c.number == *number) != (c.peer == *peer)) return send_error(req, error::kBadRequest);
  }
  const bool new_permission = a->find_permission(peer->ip, now) == nullptr;
  if (new_permission && a->permissions.size() >= config_.max_permissions) {
    return send_error(req, error::kInsufficientCapacity);
  }
  const Channel channel{*number, *peer, now + config_.channel_lifetime_ms,
                        deps_.peer_filter.allows(peer->ip)};
  if (!a->install_channel(channel, config_.max_channels)) {
    return send_error(req, error::kInsufficientCapacity);
  }
  // Binding a channel also installs or refreshes the permission for the peer's IP (§12.2).
  a->install_permission(peer->ip, now + config_.permission_lifetime_ms, config_.max_permissions);
  table_.schedule(*a, a->reap(now));
  MessageBuilder b(scratch_, stun::make_type(Method::kChannelBind, Class::kSuccess),
                   req.msg.transaction_id());
  send_success(req, b);
}

}  // namespace turnpike::turn
