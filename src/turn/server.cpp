// Dispatch, authentication and the data path of turn::Server. The per-method request handlers
// (Allocate, Refresh, CreatePermission, ChannelBind) are in handlers.cpp.
#include "turnpike/turn/server.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "request.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/util/crypto.h"

namespace turnpike::turn {

using stun::Class;
using stun::MessageBuilder;
using stun::Method;
namespace attr = stun::attr;
namespace error = stun::error;

static_assert(static_cast<size_t>(AuthFailure::kDowngrade) + 1 == Stats::kAuthFailures);
static_assert(static_cast<size_t>(Transport::kTls) + 1 == Stats::kTransports);

const char* to_string(AuthFailure f) noexcept {
  switch (f) {
    case AuthFailure::kMissingAttributes:
      return "missing USERNAME/REALM/NONCE";
    case AuthFailure::kStaleNonce:
      return "stale nonce";
    case AuthFailure::kInvalidNonce:
      return "invalid nonce";
    case AuthFailure::kUnknownUser:
      return "unknown user";
    case AuthFailure::kExpiredUser:
      return "expired REST username";
    case AuthFailure::kBadIntegrity:
      return "wrong credentials";
    case AuthFailure::kDowngrade:
      return "PASSWORD-ALGORITHMS mismatch";
  }
  return "?";
}

Server::Server(ServerConfig config, Dependencies deps)
    : config_(std::move(config)),
      deps_(deps),
      unauthenticated_(config_.unauthenticated_rate_per_s, config_.unauthenticated_burst,
                       config_.unauthenticated_sources,
                       config_.random_seed ^ 0xA5A5'5A5A'C3C3'3C3CULL) {
  scratch_.reserve(1500);
  for (const SocketAddress& a : config_.own_listeners) own_listener_ports_.set(a.port);
  nonce_chars_ = deps_.nonces.issue(0, SocketAddress{}, 0).size();  // the same for every nonce
  relay_scratch_.resize(PeerPacket::kHeadroom + 65536 + PeerPacket::kTailroom);
  // RFC 8489 §14.11: algorithms in order of preference, each with empty parameters.
  for (const auto alg : {stun::PasswordAlgorithm::kSha256, stun::PasswordAlgorithm::kMd5}) {
    const auto v = static_cast<uint16_t>(alg);
    password_algorithms_.insert(password_algorithms_.end(),
                                {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v), 0, 0});
  }
}

uint64_t Server::unguessable_token() noexcept {
  // RESERVATION-TOKEN grants a held port: it must not be predictable from the tokens a client has
  // seen (splitmix64 is invertible: one output gives away the seed and every later value, RFC 8656
  // §21.3.3). An HMAC of a counter under the per-process seed is not.
  uint8_t key[8];
  uint8_t count[8];
  ++counter_;
  for (size_t i = 0; i < 8; ++i) {
    key[i] = static_cast<uint8_t>(config_.random_seed >> (8 * i));
    count[i] = static_cast<uint8_t>(counter_ >> (8 * i));
  }
  const auto mac = crypto::hmac_sha256(ByteView(key, 8), ByteView(count, 8));
  uint64_t token = 0;
  for (size_t i = 0; i < 8; ++i) token = (token << 8) | mac[i];
  return token;
}

uint64_t Server::next_random() noexcept {
  // splitmix64 over a counter, keyed by the per-process seed.
  uint64_t z = config_.random_seed + (++counter_ * 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// ---------------------------------------------------------------------------------------------
// Entry points

void Server::on_client_message(const FiveTuple& client, ByteView bytes, const Now& now) {
  if (stun::looks_like_channel_data(bytes)) {
    handle_channel_data(client, bytes, now);
    return;
  }
  auto parsed = stun::MessageView::parse(bytes);
  if (!parsed) {
    // RFC 8489 §6.3: a message that is not well-formed STUN (bits, cookie, length, FINGERPRINT)
    // is discarded silently. Answering garbage would make us a reflector.
    ++stats_.dropped;
    deps_.observer.on_dropped(client, stun::to_string(parsed.error()));
    return;
  }
  const stun::MessageView& msg = *parsed;
  switch (msg.message_class()) {
    case Class::kRequest: {
      ++stats_.requests;
      Request req{client, msg, now, false, false, {}, {}, false};
      handle_request(req);
      return;
    }
    case Class::kIndication:
      handle_indication(client, msg, now);
      return;
    default:
      return;  // responses are never sent to a server: drop
  }
}

void Server::handle_request(Request& req) {
  // Requests without MESSAGE-INTEGRITY cost a token of their source before any work is done
  // (Binding, every client's first Allocate, junk); failed authentications pay in send().
  if (!req.msg.integrity_offset() && !req.msg.integrity_sha256_offset() &&
      !charge_unauthenticated(req)) {
    return;
  }
  std::array<uint16_t, 8> unknown{};
  const size_t n_unknown = req.msg.unknown_required_attributes(unknown);
  switch (req.msg.method()) {
    case Method::kBinding:
      if (n_unknown > 0) return send_unknown_attributes(req, {unknown.data(), n_unknown});
      return handle_binding(req);
    case Method::kAllocate:
    case Method::kRefresh:
    case Method::kCreatePermission:
    case Method::kChannelBind:
      break;
    default:
      // Connect/ConnectionBind (RFC 6062) and methods we do not know: a clear 400.
      return send_error(req, error::kBadRequest);
  }
  if (!authenticate(req)) return;
  // RFC 8489 §6.3.1.1: unknown comprehension-required attributes, checked after authentication.
  if (n_unknown > 0) return send_unknown_attributes(req, {unknown.data(), n_unknown});
  switch (req.msg.method()) {
    case Method::kAllocate:
      return handle_allocate(req);
    case Method::kRefresh:
      return handle_refresh(req);
    case Method::kCreatePermission:
      return handle_create_permission(req);
    case Method::kChannelBind:
      return handle_channel_bind(req);
    default:
      return;
  }
}

void Server::handle_binding(Request& req) {
  // RFC 8489 §6.3.1.2: the response carries the client's reflexive address. SOFTWARE only when
  // the answer stays no larger than the request (a 20-byte Binding is the classic reflector).
  MessageBuilder b(scratch_, stun::make_type(Method::kBinding, Class::kSuccess),
                   req.msg.transaction_id());
  b.add_xor_address(attr::kXorMappedAddress, req.client.client);
  const size_t software = 4 + ((config_.software.size() + 3) & ~size_t{3});
  if (!config_.software.empty() && fits_request(req, b.bytes().size() + software + 8)) {
    b.add_string(attr::kSoftware, config_.software);
  }
  send(req, b);
}

bool Server::charge_unauthenticated(Request& req) noexcept {
  if (req.charged) return true;
  req.charged = true;
  if (unauthenticated_.allow(req.client.client.ip, req.now.mono_ms)) return true;
  ++stats_.unauthenticated_dropped;
  return false;
}

bool Server::fits_request(const Request& req, size_t size) const noexcept {
  // Over TCP/TLS the source address is proven by the handshake: nothing can be reflected.
  if (!config_.small_challenges || req.client.transport != Transport::kUdp) return true;
  return size <= req.msg.raw().size();
}

// ---------------------------------------------------------------------------------------------
// Authentication: the long-term credential mechanism, RFC 8489 §9.2.4, with the §9.2 security
// features (PASSWORD-ALGORITHMS negotiation, USERHASH, MESSAGE-INTEGRITY-SHA256). Classic RFC 5389
// clients (browsers) never send those attributes and get exactly the classic exchange.

bool Server::authenticate(Request& req) {
  const stun::MessageView& msg = req.msg;
  const bool sha256 = msg.integrity_sha256_offset().has_value();
  if (!msg.integrity_offset() && !sha256) {
    send_challenge(req, error::kUnauthorized);  // the first request of every client
    return false;
  }
  const auto username_attr = msg.find(attr::kUsername);
  const auto userhash_attr = msg.find(attr::kUserhash);
  const auto realm_attr = msg.find(attr::kRealm);
  const auto nonce_attr = msg.find(attr::kNonce);
  if ((!username_attr && !userhash_attr) || !realm_attr || !nonce_attr) {
    auth_failed(req, AuthFailure::kMissingAttributes);
    send_error(req, error::kBadRequest);
    return false;
  }
  const std::string_view nonce = as_string_view(*nonce_attr);

  // RFC 8489 §9.2.4: when our nonce offered password algorithms, a client that uses them must echo
  // PASSWORD-ALGORITHMS unchanged (downgrade protection) and pick one of them; a client that sends
  // neither attribute uses MD5 (the classic mechanism).
  auto algorithm = stun::PasswordAlgorithm::kMd5;
  const uint32_t features = auth::NonceIssuer::features_of(nonce);
  const auto algorithms_attr = msg.find(attr::kPasswordAlgorithms);
  const auto algorithm_attr = msg.find(attr::kPasswordAlgorithm);
  if ((features & auth::kFeaturePasswordAlgorithms) != 0 && (algorithms_attr || algorithm_attr)) {
    const bool echoed =
        algorithms_attr && std::ranges::equal(*algorithms_attr, password_algorithms_);
    const auto chosen = algorithm_attr ? stun::decode_password_algorithm(*algorithm_attr)
                                       : stun::decode_password_algorithm({});
    if (!echoed || !chosen) {
      auth_failed(req, AuthFailure::kDowngrade);
      send_error(req, error::kBadRequest);
      return false;
    }
    algorithm = *chosen;
  }

  std::string_view username;
  if (userhash_attr) {
    // RFC 8489 §14.4: USERHASH stands for USERNAME; only our static users can be found this way.
    const std::string* found = deps_.credentials.username_for_hash(*userhash_attr, config_.realm);
    if (found == nullptr) {
      auth_failed(req, AuthFailure::kUnknownUser);
      send_challenge(req, error::kUnauthorized);
      return false;
    }
    username = *found;
  } else {
    username = as_string_view(*username_attr);
  }

  const auto status =
      deps_.credentials.keys_for(username, config_.realm, algorithm, req.now.unix_s, keys_);
  if (status != auth::LookupStatus::kFound) {
    auth_failed(req, status == auth::LookupStatus::kExpired ? AuthFailure::kExpiredUser
                                                            : AuthFailure::kUnknownUser);
    send_challenge(req, error::kUnauthorized);
    return false;
  }
  const auth::Key* matched = nullptr;
  for (const auth::Key& key : keys_) {  // one per REST secret during a rotation
    const auto verdict = sha256 ? stun::verify_message_integrity_sha256(msg, key.view())
                                : stun::verify_message_integrity(msg, key.view());
    if (verdict == stun::IntegrityStatus::kOk) {
      matched = &key;
      break;
    }
  }
  if (matched == nullptr) {
    auth_failed(req, AuthFailure::kBadIntegrity);
    send_challenge(req, error::kUnauthorized);
    return false;
  }
  // RFC 8489 §9.2.4 checks the nonce last: right credentials with an old (or foreign) nonce get
  // 438 and a fresh nonce; the features read above are covered by the nonce's MAC, so a nonce
  // whose feature bits were altered to dodge the downgrade check fails here.
  const auto nonce_state = deps_.nonces.check(nonce, req.now.mono_ms, req.client.client);
  if (nonce_state != auth::NonceIssuer::Check::kValid) {
    auth_failed(req, nonce_state == auth::NonceIssuer::Check::kStale ? AuthFailure::kStaleNonce
                                                                     : AuthFailure::kInvalidNonce);
    send_challenge(req, error::kStaleNonce);
    return false;
  }
  req.authenticated = true;
  req.sha256_integrity = sha256;
  req.username.assign(username);
  req.key = *matched;
  return true;
}

void Server::auth_failed(Request& req, AuthFailure failure) {
  ++stats_.auth_failures[static_cast<size_t>(failure)];
  deps_.observer.on_auth_failure(req.client, failure);
}

void Server::count_to_client(const Allocation& a, size_t payload_bytes) noexcept {
  const auto t = static_cast<size_t>(a.client.transport);
  ++stats_.packets_to_client[t];
  stats_.bytes_to_client[t] += payload_bytes;
}

std::pair<size_t, size_t> Server::permission_and_channel_count() const {
  std::pair<size_t, size_t> out{0, 0};
  table_.for_each([&out](const Allocation& a) {
    out.first += a.permissions.size();
    out.second += a.channels.size();
  });
  return out;
}

Allocation* Server::allocation_for(Request& req) {
  Allocation* a = table_.find(req.client);
  if (a == nullptr) {
    send_error(req, error::kAllocationMismatch);  // RFC 8656 §8.2, §10.2, §12.2
    return nullptr;
  }
  if (a->username != req.username) {
    send_error(req, error::kWrongCredentials);  // RFC 8656 §5: same credentials as the Allocate
    return nullptr;
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Responses

void Server::send(Request& req, MessageBuilder& b) {
  // Every answer to an unauthenticated request (or a failed authentication) is limited per source.
  if (!req.authenticated && !charge_unauthenticated(req)) return;
  if (req.authenticated) {
    if (req.sha256_integrity) {
      b.add_message_integrity_sha256(req.key.view());
    } else {
      b.add_message_integrity(req.key.view());
    }
  }
  b.add_fingerprint();
  deps_.outbox.to_client(req.client, b.bytes());
}

void Server::send_success(Request& req, MessageBuilder& b) {
  if (!config_.software.empty()) b.add_string(attr::kSoftware, config_.software);
  send(req, b);
}

void Server::send_error(Request& req, uint16_t code) {
  MessageBuilder b(scratch_, stun::make_type(req.msg.method(), Class::kError),
                   req.msg.transaction_id());
  b.add_error_code(code);
  send(req, b);
}

void Server::send_challenge(Request& req, uint16_t code) {
  // 401 and 438 are never integrity-protected: the client has no usable key yet (RFC 8489 §9.2.4).
  req.authenticated = false;
  if (!charge_unauthenticated(req)) return;  // before the nonce HMAC: a flood costs nothing more
  // Over UDP the challenge must not be larger than the request (spoofed sources would make us an
  // amplifier). ERROR-CODE, REALM and NONCE are required; the optional parts go in, in this order,
  // while they fit: FINGERPRINT (when the request had one), PASSWORD-ALGORITHMS with the nonce's
  // feature bit (RFC 8489 §9.2: offered only when the attribute is there), the reason phrase.
  // A request smaller than the required part gets just that (a bounded, constant excess).
  const auto padded = [](size_t n) { return 4 + ((n + 3) & ~size_t{3}); };
  const std::string_view reason = stun::reason_phrase(code);
  size_t size = stun::kHeaderSize + padded(4) + padded(config_.realm.size()) + padded(nonce_chars_);
  const bool fingerprint = req.msg.has_fingerprint() || req.client.transport != Transport::kUdp;
  if (fingerprint) size += 8;
  const size_t budget =
      std::max(size, fits_request(req, SIZE_MAX) ? SIZE_MAX : req.msg.raw().size());
  const bool algorithms = config_.password_algorithms && size + 12 <= budget;
  if (algorithms) size += 12;
  const bool with_reason = size + padded(4 + reason.size()) - padded(4) <= budget;
  uint32_t features = 0;
  if (config_.password_algorithms) features |= auth::kFeatureUsernameAnonymity;
  if (algorithms) features |= auth::kFeaturePasswordAlgorithms;
  MessageBuilder b(scratch_, stun::make_type(req.msg.method(), Class::kError),
                   req.msg.transaction_id());
  if (with_reason) {
    b.add_error_code(code);
  } else {  // class and number only (RFC 8489 §14.8: the reason phrase is for humans)
    const uint8_t value[4] = {0, 0, static_cast<uint8_t>(code / 100),
                              static_cast<uint8_t>(code % 100)};
    b.add(attr::kErrorCode, value);
  }
  b.add_string(attr::kRealm, config_.realm);
  b.add_string(attr::kNonce, deps_.nonces.issue(req.now.mono_ms, req.client.client, features));
  if (algorithms) b.add(attr::kPasswordAlgorithms, password_algorithms_);
  if (fingerprint) b.add_fingerprint();
  deps_.outbox.to_client(req.client, b.bytes());
}

void Server::send_unknown_attributes(Request& req, std::span<const uint16_t> types) {
  MessageBuilder b(scratch_, stun::make_type(req.msg.method(), Class::kError),
                   req.msg.transaction_id());
  b.add_error_code(error::kUnknownAttribute);
  b.add_unknown_attributes(types);
  send(req, b);
}

// ---------------------------------------------------------------------------------------------
// Data path

void Server::handle_indication(const FiveTuple& client, const stun::MessageView& msg,
                               const Now& now) {
  // RFC 8656 §11.2: Send indications are not authenticated; anything wrong is dropped silently.
  if (msg.method() != Method::kSend) return;
  // RFC 8489 §6.3.2: an indication with unknown comprehension-required attributes is discarded;
  // RFC 8656 §11.2: so is DONT-FRAGMENT, since we cannot set DF on relayed datagrams.
  std::array<uint16_t, 1> unknown{};
  if (msg.unknown_required_attributes(unknown) > 0 || msg.find(attr::kDontFragment)) return;
  Allocation* a = table_.find(client);
  if (a == nullptr) return;
  const auto peer_attr = msg.find(attr::kXorPeerAddress);
  const auto data = msg.find(attr::kData);
  if (!peer_attr || !data) return;
  const auto peer = stun::decode_xor_address(*peer_attr, msg.transaction_id());
  if (!peer || peer->family() != a->relayed.family()) return;
  if (a->find_permission(peer->ip, now.mono_ms) == nullptr) {
    deps_.observer.on_dropped(client, "Send indication without permission");
    return;
  }
  relay_to_peer(*a, *peer, *data, now, false);
}

void Server::handle_channel_data(const FiveTuple& client, ByteView bytes, const Now& now) {
  const auto frame = stun::parse_channel_data(bytes);
  if (!frame) return;  // RFC 8656 §12.5: malformed ChannelData is discarded
  Allocation* a = table_.find(client);
  if (a == nullptr) return;
  const Channel* channel = a->find_channel(frame->channel, now.mono_ms);
  if (channel == nullptr) return;
  if (a->find_permission(channel->peer.ip, now.mono_ms) == nullptr) return;
  relay_to_peer(*a, channel->peer, frame->payload, now, channel->policy_allowed);
}

void Server::relay_to_peer(Allocation& from, const SocketAddress& peer, ByteView payload,
                           const Now& now, bool policy_checked) {
  if (Allocation* target = table_.find_by_relayed(peer)) {
    // Both ends are our clients: deliver internally, as if it had arrived on the target's relay
    // socket from our relayed address. Cloud 1:1 NAT would drop the hairpin otherwise.
    if (payload.size() > relay_scratch_.size() - PeerPacket::kHeadroom - PeerPacket::kTailroom) {
      return;
    }
    if (!within_bandwidth(from.to_peer_budget, payload.size(), now)) return;
    uint8_t* start = relay_scratch_.data() + PeerPacket::kHeadroom;
    std::memcpy(start, payload.data(), payload.size());
    ++stats_.hairpin_packets;
    on_peer_datagram(target->id, from.relayed, PeerPacket{start, payload.size()}, now);
    return;
  }
  if (is_own_listener(peer)) {
    // RFC 8656 §21.1.7: relaying to our own listening ports would let a client talk to the server
    // as the server (loops, requests from a spoofed trusted source). Never, whatever the policy.
    ++stats_.own_listener_denied;
    ++stats_.peer_denied;
    deps_.observer.on_peer_denied(from.client, peer);
    return;
  }
  if (is_own_relay(peer)) {
    // A relay of another worker of this server: the kernel delivers it locally (to the bind
    // address, not the public one), and that worker presents it under our public address.
    if (!within_bandwidth(from.to_peer_budget, payload.size(), now)) return;
    ++stats_.hairpin_packets;
    deps_.outbox.to_peer(from.id, local_form(peer), payload);
    return;
  }
  // A permission is per IP, so one granted for a fellow client's relayed address must not open
  // the other ports of that (loopback or private) IP: anything that is not one of our relayed
  // addresses passes the peer filter here, unless the channel's peer already did at bind time.
  if (!policy_checked && !deps_.peer_filter.allows(peer.ip)) {
    ++stats_.peer_denied;
    deps_.observer.on_peer_denied(from.client, peer);
    return;
  }
  if (!within_bandwidth(from.to_peer_budget, payload.size(), now)) return;
  const auto t = static_cast<size_t>(from.client.transport);
  ++stats_.packets_to_peer[t];
  stats_.bytes_to_peer[t] += payload.size();
  deps_.outbox.to_peer(from.id, peer, payload);
}

bool Server::within_bandwidth(policy::RateBucket& budget, size_t bytes, const Now& now) noexcept {
  const uint64_t rate = config_.max_bandwidth_per_allocation;
  if (rate == 0) return true;
  // One second's worth, and never less than the largest datagram (it must be able to pass).
  const uint64_t burst = std::max<uint64_t>(rate, 65536);
  if (budget.try_take(bytes, now.mono_ms, rate, burst)) return true;
  ++stats_.bandwidth_dropped_packets;
  stats_.bandwidth_dropped_bytes += bytes;
  return false;
}

bool Server::is_own_listener(const SocketAddress& address) const noexcept {
  if (config_.allow_own_listeners || !own_listener_ports_.test(address.port)) return false;
  const SocketAddress canonical{policy::PeerFilter::canonical(address.ip), address.port};
  return std::ranges::find(config_.own_listeners, canonical) != config_.own_listeners.end();
}

bool Server::peer_allowed(const Allocation& allocation, const SocketAddress& peer) {
  // One of our own relayed addresses is always allowed (two clients of this server); everything
  // else goes through the one policy function. Callers that know the peer's port (ChannelBind)
  // also refuse our own listening addresses (is_own_listener).
  if (table_.find_by_relayed(peer) != nullptr || (is_own_relay(peer) && !is_own_listener(peer)) ||
      deps_.peer_filter.allows(peer.ip)) {
    return true;
  }
  ++stats_.peer_denied;
  deps_.observer.on_peer_denied(allocation.client, peer);
  return false;
}

bool Server::is_own_relay(const SocketAddress& address) const noexcept {
  if (address.port < config_.relay_port_min || address.port > config_.relay_port_max) return false;
  const bool v4 = address.family() == Family::kIPv4;
  const auto& local = v4 ? config_.relay_ipv4 : config_.relay_ipv6;
  const auto& advertised = v4 ? config_.advertised_ipv4 : config_.advertised_ipv6;
  return (local && address.ip == *local) || (advertised && address.ip == *advertised);
}

SocketAddress Server::local_form(const SocketAddress& relayed) const noexcept {
  const auto& local = relayed.family() == Family::kIPv4 ? config_.relay_ipv4 : config_.relay_ipv6;
  return local ? SocketAddress{*local, relayed.port} : relayed;
}

SocketAddress Server::public_form(const SocketAddress& source) const noexcept {
  const bool v4 = source.family() == Family::kIPv4;
  const auto& advertised = v4 ? config_.advertised_ipv4 : config_.advertised_ipv6;
  if (!advertised || !is_own_relay(source)) return source;
  return SocketAddress{*advertised, source.port};
}

void Server::on_peer_datagram(AllocationId relay, const SocketAddress& source, PeerPacket packet,
                              const Now& now) {
  Allocation* a = table_.find(relay);
  if (a == nullptr || packet.length > 0xFFFF - 64) return;
  // Our listeners only ever answer clients: a datagram from one means a client spoofed a relayed
  // address as its source. Never relay it (it would be the loop of RFC 8656 §21.1.7).
  if (is_own_listener(source)) return;
  // From another worker's relay socket, the source is its local address; clients know it by the
  // advertised one (the only case where the two differ is behind 1:1 NAT).
  const SocketAddress peer = public_form(source);
  // RFC 8656 §11.3: data from a peer without a permission is dropped.
  if (a->find_permission(peer.ip, now.mono_ms) == nullptr) return;
  if (!within_bandwidth(a->to_client_budget, packet.length, now)) return;
  const auto length = static_cast<uint16_t>(packet.length);
  const bool stream = a->client.transport != Transport::kUdp;
  if (const Channel* channel = a->find_channel_for(peer, now.mono_ms)) {
    // ChannelData, framed in place in the headroom (RFC 8656 §12.4); padded over streams only.
    uint8_t* start = packet.payload - stun::kChannelDataHeaderSize;
    store_be16(start, channel->number);
    store_be16(start + 2, length);
    size_t total = stun::kChannelDataHeaderSize + packet.length;
    if (stream) {
      const size_t pad = (4 - (total & 3)) & 3;
      std::memset(start + total, 0, pad);
      total += pad;
    }
    count_to_client(*a, packet.length);
    deps_.outbox.to_client(a->client, {start, total});
    return;
  }
  // Data indication (RFC 8656 §11.3-§11.4): header, XOR-PEER-ADDRESS, DATA, written in the
  // headroom.
  const size_t address_size = peer.family() == Family::kIPv4 ? 8 : 20;
  const size_t header = stun::kHeaderSize + 4 + address_size + 4;
  const size_t pad = (4 - (packet.length & 3)) & 3;
  uint8_t* start = packet.payload - header;
  store_be16(start, stun::make_type(Method::kData, Class::kIndication));
  store_be16(start + 2, static_cast<uint16_t>(header - stun::kHeaderSize + packet.length + pad));
  store_be32(start + 4, stun::kMagicCookie);
  const uint64_t r1 = next_random();
  const uint64_t r2 = next_random();
  for (size_t i = 0; i < 8; ++i) start[8 + i] = static_cast<uint8_t>(r1 >> (8 * i));
  for (size_t i = 0; i < 4; ++i) start[16 + i] = static_cast<uint8_t>(r2 >> (8 * i));
  uint8_t* p = start + stun::kHeaderSize;
  store_be16(p, attr::kXorPeerAddress);
  store_be16(p + 2, static_cast<uint16_t>(address_size));
  p[4] = 0;
  p[5] = static_cast<uint8_t>(peer.family());
  store_be16(p + 6, static_cast<uint16_t>(peer.port ^ (stun::kMagicCookie >> 16)));
  // RFC 8489 §14.2: XOR with the cookie, and for IPv6 with cookie || transaction id.
  for (size_t i = 0; i < peer.ip.size(); ++i) p[8 + i] = peer.ip.bytes[i] ^ start[4 + i];
  p += 4 + address_size;
  store_be16(p, attr::kData);
  store_be16(p + 2, length);
  std::memset(packet.payload + packet.length, 0, pad);
  count_to_client(*a, packet.length);
  deps_.outbox.to_client(a->client, {start, header + packet.length + pad});
}

// ---------------------------------------------------------------------------------------------
// Lifetimes

void Server::on_client_closed(const FiveTuple& client, const Now&) {
  if (Allocation* a = table_.find(client)) delete_allocation(a->id, "connection closed");
}

void Server::advance(const Now& now) {
  table_.due(now.mono_ms, due_);
  for (const AllocationId id : due_) {
    Allocation* a = table_.find(id);
    if (a == nullptr) continue;
    if (a->expires <= now.mono_ms) {
      delete_allocation(id, "expired");
      continue;
    }
    if (a->reserved_port != 0 && a->reservation_expires <= now.mono_ms) release_reservation(*a);
    table_.schedule(*a, a->reap(now.mono_ms));
  }
}

void Server::release_reservation(Allocation& a) {
  if (a.reserved_port == 0) return;
  deps_.relays.release_reservation(a.relay_local.family(), a.reserved_port);
  forget_reservation(a);
}

void Server::forget_reservation(Allocation& a) {
  reservations_.erase(a.reservation_token);
  a.reserved_port = 0;
  a.reservation_token = 0;
}

void Server::delete_allocation(AllocationId id, std::string_view reason) {
  Allocation* a = table_.find(id);
  if (a == nullptr) return;
  release_reservation(*a);
  ++stats_.allocations_deleted;
  deps_.relays.close(id);
  deps_.observer.on_allocation_deleted(a->client, reason);
  table_.remove(id);
}

uint32_t Server::lifetime_for(std::optional<uint32_t> requested_s) const noexcept {
  // RFC 8656 §7.2 / §8.2: min(requested, maximum), but never below the default.
  const auto max_s = static_cast<uint32_t>(config_.max_lifetime_ms / 1000);
  const auto default_s = static_cast<uint32_t>(config_.default_lifetime_ms / 1000);
  if (!requested_s) return default_s;
  return std::max(default_s, std::min(*requested_s, max_s));
}

}  // namespace turnpike::turn
