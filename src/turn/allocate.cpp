// Allocate: RFC 8656 §7.2 "Receiving an Allocate Request", its steps in the RFC's order and
// numbering, then the allocation itself and the success response (XOR-RELAYED-ADDRESS, LIFETIME,
// RESERVATION-TOKEN, XOR-MAPPED-ADDRESS). Also the lifetime rule shared with Refresh (§8.2) and the
// RESERVATION-TOKEN side of EVEN-PORT (§7.2, §18.9), kept in deps_.reservations.
#include <algorithm>
#include <array>

#include "request.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::turn {

using stun::Class;
using stun::MessageBuilder;
using stun::Method;
namespace attr = stun::attr;
namespace error = stun::error;

namespace {

constexpr uint8_t kProtocolUdp = 17;

SocketAddress advertised(const SocketAddress& local, const ServerConfig& config) {
  SocketAddress out = local;
  const auto& public_ip =
      local.family() == Family::kIPv4 ? config.advertised_ipv4 : config.advertised_ipv6;
  if (public_ip) out.ip = *public_ip;
  return out;
}

}  // namespace

// What an Allocate request asks for, as steps 5-8 read it.
struct Server::AllocateAsk {
  RelayRequest relay;
  bool additional_family_refused = false;  // ADDITIONAL-ADDRESS-FAMILY: 440 for the IPv6 part
  std::optional<uint64_t> token;           // step 5: the RESERVATION-TOKEN redeemed (taken)
  std::optional<uint32_t> lifetime_s;      // LIFETIME, if any (§7.2: min(requested, maximum))
  std::string_view label;                  // the quota label of the username
};

void Server::handle_allocate(Request& req) {
  const stun::MessageView& msg = req.msg;
  // Step 1: the request is authenticated (done by the dispatch; every answer below carries
  // MESSAGE-INTEGRITY).
  // Step 2: a 5-tuple that has an allocation gets 437, except for a retransmitted Allocate, which
  // gets the same success again.
  if (Allocation* existing = table_.find(req.client)) {
    return answer_retransmitted_allocate(req, *existing);
  }
  // Shutting down (SIGTERM with shutdown.grace_period): no new allocations. 508 tells the client
  // to use another server (§7.2: the server is out of capacity), unlike a 403.
  if (draining_) {
    counters_.add(metric::kDrainingRefused);
    return send_error(req, error::kInsufficientCapacity);
  }
  // Step 3: REQUESTED-TRANSPORT is mandatory (400); we relay UDP only (TCP relays, RFC 6062: 442).
  const auto transport = msg.find(attr::kRequestedTransport);
  if (!transport) return send_error(req, error::kBadRequest);
  const auto protocol = stun::decode_requested_transport(*transport);
  if (!protocol) return send_error(req, error::kBadRequest);
  if (*protocol != kProtocolUdp) return send_error(req, error::kUnsupportedTransportProtocol);
  // Step 4: we do not set DF on relayed datagrams, so DONT-FRAGMENT is an unknown attribute (420).
  if (msg.find(attr::kDontFragment)) {
    const uint16_t dont_fragment[] = {attr::kDontFragment};
    return send_unknown_attributes(req, dont_fragment);
  }
  // Steps 5-8: RESERVATION-TOKEN, the address families, EVEN-PORT.
  AllocateAsk ask;
  if (const uint16_t code = read_relay_request(req, ask)) return send_error(req, code);
  // LIFETIME (read for the allocation below): a malformed one is a bad request.
  uint16_t refusal = 0;
  if (const auto lifetime = msg.find(attr::kLifetime)) {
    if (const auto seconds = stun::decode_u32(*lifetime)) {
      ask.lifetime_s = *seconds;
    } else {
      refusal = error::kBadRequest;
    }
  }
  // Step 9: quotas, server-wide (all workers): per user and per label 486; server capacity 508
  // ("at any point" of §7.2). Admitted here, released when the allocation goes.
  ask.label = deps_.credentials.label_of(req.username);
  if (refusal == 0) refusal = admit(req.username, ask.label);
  if (refusal != 0) {
    // The token stays good for another try (the registry holds it again).
    if (ask.token) deps_.reservations.hold(*ask.token, {ask.relay.family, ask.relay.port});
    return send_error(req, refusal);
  }
  // All checks passed: the allocation is created (§7.2 after step 10).
  create_allocation(req, ask);
}

// Step 9: 0 when the quota counts the new allocation, else the error code of the limit reached.
uint16_t Server::admit(std::string_view user, std::string_view label) {
  switch (deps_.quota.try_admit(user, label)) {
    case AllocationQuota::Verdict::kAdmitted:
      return 0;
    case AllocationQuota::Verdict::kUserLimit:
    case AllocationQuota::Verdict::kLabelLimit:
      return error::kAllocationQuotaReached;
    case AllocationQuota::Verdict::kTotalLimit:
      return error::kInsufficientCapacity;
  }
  return error::kInsufficientCapacity;
}

// Step 2: the same transaction id as the Allocate that made the allocation: a retransmission.
void Server::answer_retransmitted_allocate(Request& req, const Allocation& existing) {
  if (!std::ranges::equal(existing.allocate_transaction, req.msg.transaction_id())) {
    return send_error(req, error::kAllocationMismatch);
  }
  const Millis left_ms = std::max<Millis>(0, existing.expires - req.now.mono_ms);
  send_allocate_success(req, existing, static_cast<uint32_t>(left_ms / 1000), false);
}

uint16_t Server::read_relay_request(Request& req, AllocateAsk& ask) {
  const stun::MessageView& msg = req.msg;
  const auto token = msg.find(attr::kReservationToken);
  const auto even_port = msg.find(attr::kEvenPort);
  const auto requested_family = msg.find(attr::kRequestedAddressFamily);
  const auto additional_family = msg.find(attr::kAdditionalAddressFamily);
  // Step 5: RESERVATION-TOKEN excludes EVEN-PORT and both family attributes (400); an invalid
  // token gets 508. (With a token, none of the attributes of steps 6-8 is present.)
  if (token) {
    if (even_port || requested_family || additional_family) return error::kBadRequest;
    return redeem_token(*token, ask);
  }
  // Step 6: REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY exclude each other.
  if (requested_family && additional_family) return error::kBadRequest;
  // Step 7: the family asked for must be one we relay (440); IPv4 otherwise.
  if (requested_family) {
    const auto family = stun::decode_address_family(*requested_family);
    if (!family) return error::kBadRequest;
    if (*family == Family::kIPv6 && !config_.ipv6_relay) return error::kAddressFamilyNotSupported;
    ask.relay.family = *family;
  }
  // ADDITIONAL-ADDRESS-FAMILY asks for an extra IPv6 relay. We give one relayed address per
  // allocation: the IPv4 one, with ADDRESS-ERROR-CODE 440 for the IPv6 part.
  if (additional_family) {
    const auto family = stun::decode_address_family(*additional_family);
    if (!family || *family != Family::kIPv6) return error::kBadRequest;
    ask.additional_family_refused = true;
  }
  // Step 8: EVEN-PORT; with R=1 the next port is held too, for one family only (400 with
  // ADDITIONAL-ADDRESS-FAMILY). The relay allocator answers 508 if it cannot (create_allocation).
  if (even_port) {
    if (even_port->empty()) return error::kBadRequest;
    ask.relay.even_port = true;
    ask.relay.reserve_next = ((*even_port)[0] & 0x80) != 0;  // the R bit
    if (ask.relay.reserve_next && additional_family) return error::kBadRequest;
  }
  return 0;
}

// Step 5: the token must still be good (not redeemed, released or expired): the registry shared by
// all workers decides, and a token is redeemed once.
uint16_t Server::redeem_token(ByteView token, AllocateAsk& ask) {
  if (token.size() != 8) return error::kBadRequest;
  uint64_t value = 0;
  for (const uint8_t byte : token) value = (value << 8) | byte;
  const auto reservation = deps_.reservations.take(value);
  if (!reservation) return error::kInsufficientCapacity;
  ask.token = value;
  ask.relay.family = reservation->family;
  ask.relay.port = reservation->port;
  return 0;
}

void Server::create_allocation(Request& req, AllocateAsk& ask) {
  const Millis now = req.now.mono_ms;
  const AllocationId id = table_.reserve_slot();
  const auto local = deps_.relays.open(id, ask.relay);
  if (!local) {
    table_.release_slot(id);
    deps_.quota.release(req.username, ask.label);
    if (ask.token) deps_.reservations.hold(*ask.token, {ask.relay.family, ask.relay.port});
    return send_error(req, error::kInsufficientCapacity);  // no relay port free
  }
  if (ask.token) hand_over_reservation(*ask.token);  // the held port went to the new socket
  Allocation a;
  a.id = id;
  a.client = req.client;
  a.relay_local = *local;
  a.relayed = advertised(*local, config_);
  a.username = req.username;
  a.label = ask.label;
  std::ranges::copy(req.msg.transaction_id(), a.allocate_transaction.begin());
  const uint32_t lifetime_s = lifetime_for(ask.lifetime_s);
  a.expires = now + Millis{lifetime_s} * 1000;
  if (ask.relay.reserve_next) hold_next_port(a, now);
  Allocation& stored = table_.commit(std::move(a));
  table_.schedule(stored, stored.reap(now));
  counters_.add(metric::kAllocationsCreated);
  deps_.observer.on_allocation_created(stored.client, stored.relayed, stored.username);
  send_allocate_success(req, stored, lifetime_s, ask.additional_family_refused);
}

// EVEN-PORT with R=1: the relay allocator holds local port + 1; a RESERVATION-TOKEN names it for
// reservation_lifetime_ms (§7.2: about 30 s), in the registry every worker can redeem from.
void Server::hold_next_port(Allocation& a, Millis now) {
  a.reserved_port = static_cast<uint16_t>(a.relay_local.port + 1);
  a.reservation_token = unguessable_token() | 1;  // never 0
  a.reservation_expires = now + config_.reservation_lifetime_ms;
  holders_[a.reservation_token] = a.id;
  deps_.reservations.hold(a.reservation_token, {a.relay_local.family(), a.reserved_port});
}

// A token redeemed on this worker: its holder (if it is ours) no longer releases the port.
void Server::hand_over_reservation(uint64_t token) {
  const auto it = holders_.find(token);
  if (it == holders_.end()) return;
  if (Allocation* holder = table_.find(it->second)) {
    holder->reserved_port = 0;
    holder->reservation_token = 0;
  }
  holders_.erase(it);
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

uint32_t Server::lifetime_for(std::optional<uint32_t> requested_s) const noexcept {
  // RFC 8656 §7.2 / §8.2: min(requested, maximum), but never below the default.
  const auto max_s = static_cast<uint32_t>(config_.max_lifetime_ms / 1000);
  const auto default_s = static_cast<uint32_t>(config_.default_lifetime_ms / 1000);
  if (!requested_s) return default_s;
  return std::max(default_s, std::min(*requested_s, max_s));
}

}  // namespace turnpike::turn
