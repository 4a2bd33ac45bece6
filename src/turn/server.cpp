// turn::Server's entry points, the dispatch of requests (RFC 8489 §6.3), authentication (RFC 8489
// §9.2.4, decided by auth::Authenticator) and allocation lifetimes (RFC 8656 §3.1, §7.2, §8.2).
// Each method family has its own file: binding.cpp, allocate.cpp, refresh.cpp, permission.cpp,
// channel_bind.cpp, send_data.cpp; the answers are built in responses.cpp.
#include "turnpike/turn/server.h"
#include "turnpike/turn/metrics.h"

#include <array>

#include "request.h"
#include "turnpike/stun/channel_data.h"

namespace turnpike::turn {

using stun::Class;
using stun::Method;
namespace error = stun::error;

static_assert(static_cast<size_t>(Transport::kTls) + 1 == metric::kToClient, "three transports");

Server::Server(ServerConfig config, Dependencies deps)
    : config_(std::move(config)),
      deps_(deps),
      authenticator_(deps_.credentials, deps_.nonces, config_.realm, config_.password_algorithms),
      transaction_state_(crypto::random_u64()),
      unauthenticated_(config_.unauthenticated_rate_per_s, config_.unauthenticated_burst,
                       config_.unauthenticated_sources, crypto::random_u64()) {
  scratch_.reserve(1500);
  set_own_addresses({}, config_.own_listeners);  // the relay and advertised addresses
  relay_scratch_.resize(PeerPacket::kHeadroom + 65536 + PeerPacket::kTailroom);
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
    counters_.add(metric::kDroppedMessages);
    deps_.observer.on_dropped(client, stun::to_string(parsed.error()));
    return;
  }
  const stun::MessageView& msg = *parsed;
  switch (msg.message_class()) {
    case Class::kRequest: {
      counters_.add(metric::kRequests);
      Request req{client, msg, now, false, false, {}, {}, false, false};
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

// TCP/TLS: the allocation goes with the connection (RFC 8656 §3.1).
void Server::on_client_closed(const FiveTuple& client, const Now&) {
  if (Allocation* a = table_.find(client)) delete_allocation(a->id, "connection closed");
}

void Server::advance(const Now& now) {
  table_.due(now.mono_ms, due_);
  for (const AllocationId id : due_) {
    Allocation* a = table_.find(id);
    if (a == nullptr) continue;
    if (a->expires <= now.mono_ms) {
      delete_allocation(id, "expired");  // RFC 8656 §8.2: no Refresh in time
      continue;
    }
    if (a->reserved_port != 0 && a->reservation_expires <= now.mono_ms) release_reservation(*a);
    table_.schedule(*a, a->reap(now.mono_ms));
  }
}

std::pair<size_t, size_t> Server::permission_and_channel_count() const {
  std::pair<size_t, size_t> out{0, 0};
  table_.for_each([&out](const Allocation& a) {
    out.first += a.permissions.size();
    out.second += a.channels.size();
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dispatch (RFC 8489 §6.3.1: requests)

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

// RFC 8656 §5: every TURN request but Allocate is authenticated (RFC 8489 §9.2.4); the verdict
// comes from the authenticator, the answer (400 / 401 / 438) from here.
bool Server::authenticate(Request& req) {
  if (!pay_before_verifying(req)) return false;  // dropped unprocessed: no hashing for a flood
  const auth::Verdict verdict =
      authenticator_.verify(req.msg, req.client.client, req.now.mono_ms, req.now.unix_s);
  if (verdict.failure) {
    counters_.add(metric::kAuthFailures, static_cast<size_t>(*verdict.failure));
    deps_.observer.on_auth_failure(req.client, *verdict.failure);
  }
  switch (verdict.outcome) {
    case auth::Verdict::Outcome::kAuthenticated:
      if (req.refund) unauthenticated_.refund(req.client.client.ip, req.now.mono_ms);
      req.authenticated = true;
      req.sha256_integrity = verdict.sha256_integrity;
      req.username.assign(verdict.username);
      req.key = verdict.key;
      return true;
    case auth::Verdict::Outcome::kBadRequest:
      send_error(req, error::kBadRequest);
      return false;
    case auth::Verdict::Outcome::kChallenge:
      send_challenge(req, error::kUnauthorized);
      return false;
    case auth::Verdict::Outcome::kStaleNonce:
      send_challenge(req, error::kStaleNonce);
      return false;
  }
  return false;
}

// The allocation of an authenticated request other than Allocate.
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
// Lifetimes

void Server::delete_allocation(AllocationId id, std::string_view reason) {
  Allocation* a = table_.find(id);
  if (a == nullptr) return;
  release_reservation(*a);
  deps_.quota.release(a->username, a->label);
  counters_.add(metric::kAllocationsDeleted);
  deps_.relays.close(id);
  deps_.observer.on_allocation_deleted(a->client, reason);
  table_.remove(id);
}

// RFC 8656 §7.2: a held port not redeemed in time (or whose holder died) goes back to the pool.
void Server::release_reservation(Allocation& holder) {
  if (holder.reserved_port == 0) return;
  deps_.reservations.release(holder.reservation_token,
                             Reservation{holder.relay_local.family(), holder.reserved_port});
  holders_.erase(holder.reservation_token);
  holder.reserved_port = 0;
  holder.reservation_token = 0;
}

}  // namespace turnpike::turn
