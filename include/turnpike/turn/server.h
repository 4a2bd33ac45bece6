// turn::Server — the TURN/STUN request state machine (RFC 8489, RFC 8656), sans I/O.
//
// The transport feeds it what arrived (client messages with their 5-tuple, peer datagrams with the
// allocation that received them) and the current time; the server answers through the Outbox and
// asks the RelayAllocator for relay sockets (and the ReservationRegistry about RESERVATION-TOKENs).
// It keeps no clock, no socket and no log.
//
// The implementation is one file per method family, each following its RFC section's steps
// (src/turn/): server.cpp (entry points, dispatch, lifetimes), binding.cpp, allocate.cpp (RFC 8656
// §7.2), refresh.cpp (§8.2), permission.cpp (§10.2), channel_bind.cpp (§12.2), send_data.cpp
// (§11, §12.6-§12.7), peers.cpp (peer policy and our own addresses), responses.cpp. The long-term
// credential exchange is auth::Authenticator.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "turnpike/auth/authenticator.h"
#include "turnpike/auth/credential_store.h"
#include "turnpike/auth/nonce_issuer.h"
#include "turnpike/metrics/registry.h"
#include "turnpike/policy/ip_limits.h"
#include "turnpike/policy/peer_filter.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"
#include "turnpike/turn/allocation_table.h"
#include "turnpike/turn/interfaces.h"
#include "turnpike/turn/server_config.h"
#include "turnpike/util/crypto.h"

namespace turnpike::turn {

// A datagram from a peer, in a buffer with room around it so the server can frame it for the
// client in place (ChannelData header or Data indication) without copying the payload.
struct PeerPacket {
  // 20 header + 24 XOR-PEER-ADDRESS (IPv6) + 4 DATA (stun::kDataIndicationMaxHeadroom)
  static constexpr size_t kHeadroom = 48;
  static constexpr size_t kTailroom = 4;  // padding to a multiple of 4
  uint8_t* payload = nullptr;  // kHeadroom bytes before and kTailroom bytes after are writable
  size_t length = 0;
};

struct Dependencies {
  const auth::CredentialStore& credentials;
  const auth::NonceIssuer& nonces;
  const policy::PeerFilter& peer_filter;
  RelayAllocator& relays;
  ReservationRegistry& reservations;
  AllocationQuota& quota;  // server-wide: shared by every worker
  Outbox& outbox;
  Observer& observer;
  const RelayPortDirectory& relay_ports;  // live relay ports of every worker (shared)
};

class Server {
 public:
  Server(ServerConfig config, Dependencies deps);

  // A datagram (UDP) or one framed message (TCP/TLS) from a client: STUN or ChannelData.
  void on_client_message(const FiveTuple& client, ByteView bytes, const Now& now);
  // A datagram that arrived on an allocation's relay socket from `peer`.
  void on_peer_datagram(AllocationId relay, const SocketAddress& peer, PeerPacket packet,
                        const Now& now);
  // TCP/TLS: the client's connection closed; its allocation goes with it (RFC 8656 §3.1).
  void on_client_closed(const FiveTuple& client, const Now& now);

  // Reaps what expired by `now` (allocations, permissions, channels). Call when next_deadline()
  // is due; cheap to call more often.
  void advance(const Now& now);
  [[nodiscard]] std::optional<Millis> next_deadline() const noexcept {
    return table_.next_deadline();
  }

  [[nodiscard]] size_t allocation_count() const noexcept { return table_.size(); }
  // The server's counters (turn/metrics.h families), plain integers: no atomics on the packet path.
  [[nodiscard]] const metrics::Counters& counters() const noexcept { return counters_; }
  // Permissions and channels currently installed (walks the allocations: for scrapes, not per
  // packet).
  [[nodiscard]] std::pair<size_t, size_t> permission_and_channel_count() const;
  [[nodiscard]] const ServerConfig& config() const noexcept { return config_; }

  // The host's own addresses (every address of every local interface; the transport reads them
  // at start, on SIGHUP and every minute) and our listening addresses derived from them (they
  // replace config().own_listeners). The relay and advertised addresses are always own addresses;
  // loopback addresses never are (the built-in deny list refuses them; see docs/security.md). No
  // port of an own address is a peer, in any IPv4-in-IPv6 spelling, except one that a live
  // allocation holds (a fellow client). Cached verdicts are judged again on their next use.
  void set_own_addresses(std::span<const IpAddress> hosts, std::vector<SocketAddress> listeners);
  [[nodiscard]] const std::vector<IpAddress>& own_addresses() const noexcept { return own_hosts_; }

  // Graceful shutdown: while draining, new allocations are refused with 508 (Insufficient
  // Capacity: the client tries another server) and existing ones keep working until they end.
  void set_draining(bool draining) noexcept { draining_ = draining; }
  [[nodiscard]] bool draining() const noexcept { return draining_; }
  // Sources tracked by the unauthenticated-request limiter (bounded by its table size).
  [[nodiscard]] size_t tracked_unauthenticated_sources() const noexcept {
    return unauthenticated_.size();
  }

 private:
  struct Request;      // one request being answered (src/turn/request.h)
  struct AllocateAsk;  // what an Allocate request asks for (allocate.cpp)

  // server.cpp: dispatch (RFC 8489 §6.3), authentication, lifetimes
  void handle_request(Request& req);
  bool authenticate(Request& req);  // RFC 8489 §9.2.4 via auth::Authenticator; answers failures
  Allocation* allocation_for(Request& req);  // 437 / 441 answered here when it returns null
  void delete_allocation(AllocationId id, std::string_view reason);
  void release_reservation(Allocation& holder);  // timed out or the holder died (§7.2)
  // binding.cpp (RFC 8489 §6.3.1.2)
  void handle_binding(Request& req);
  // allocate.cpp (RFC 8656 §7.2)
  void handle_allocate(Request& req);
  void answer_retransmitted_allocate(Request& req, const Allocation& existing);
  uint16_t read_relay_request(Request& req, AllocateAsk& ask);    // steps 5-8; 0 or an error code
  uint16_t redeem_token(ByteView token, AllocateAsk& ask);        // step 5
  uint16_t admit(std::string_view user, std::string_view label);  // step 9: the quotas; 0 or code
  void create_allocation(Request& req, AllocateAsk& ask);
  void hold_next_port(Allocation& allocation, Millis now);  // EVEN-PORT R=1: a RESERVATION-TOKEN
  void hand_over_reservation(uint64_t token);  // redeemed here: the local holder lets go
  void send_allocate_success(Request& req, const Allocation& allocation, uint32_t lifetime_s,
                             bool additional_family_refused);
  [[nodiscard]] uint32_t lifetime_for(std::optional<uint32_t> requested_s) const noexcept;
  uint64_t unguessable_token() noexcept { return tokens_.next(); }  // RESERVATION-TOKEN values
  // refresh.cpp (§8.2), permission.cpp (§10.2), channel_bind.cpp (§12.2)
  void handle_refresh(Request& req);
  void handle_create_permission(Request& req);
  void handle_channel_bind(Request& req);
  // send_data.cpp (§11.2 Send, §12.6 ChannelData, §11.3 / §12.7 from peers)
  void handle_indication(const FiveTuple& client, const stun::MessageView& msg, const Now& now);
  void handle_channel_data(const FiveTuple& client, ByteView bytes, const Now& now);
  // Relays `payload` from allocation `from` to `peer`, delivering internally when the peer is one
  // of our own relayed addresses (no hairpin through the network). `verdict`: the channel's cached
  // one, or a fresh (unjudged) one for a Send indication.
  void relay_to_peer(Allocation& from, const SocketAddress& peer, ByteView payload, const Now& now,
                     PeerVerdict& verdict);
  void deliver_hairpin(Allocation& from, Allocation& target, ByteView payload, const Now& now);
  void send_channel_data(const Allocation& to, uint16_t channel, PeerPacket packet);
  void send_data_indication(const Allocation& to, const SocketAddress& peer, PeerPacket packet);
  // Takes `bytes` from one of an allocation's bandwidth buckets; false (counted) when over the cap.
  bool within_bandwidth(policy::RateBucket& budget, size_t bytes, const Now& now) noexcept;
  void count_to_client(const Allocation& allocation, size_t payload_bytes) noexcept;
  uint64_t next_random() noexcept;  // transaction ids of Data indications (keys nothing else)
  // peers.cpp: the peer policy and our own addresses (hairpin mapping)
  // Per IP (CreatePermission): our relays, or what the peer filter allows. Counts refusals.
  bool peer_allowed(const Allocation& allocation, const SocketAddress& peer);
  // Per address and port (ChannelBind, Send, ChannelData), for a peer that is not a local
  // allocation's relayed address: judges `verdict` again if stale, then whether `peer` may be sent
  // to now. Counts and reports a refusal.
  bool peer_reachable(const Allocation& from, const SocketAddress& peer, PeerVerdict& verdict);
  [[nodiscard]] PeerVerdict judge(const SocketAddress& peer) const noexcept;
  // One of our relay addresses whose port a live allocation (of any worker) holds right now.
  [[nodiscard]] bool is_live_relay(const SocketAddress& address) const noexcept;
  // An address of this host, in any spelling (canonical, SIIT, 6to4, Teredo); loopback excluded.
  [[nodiscard]] bool is_own_host(const IpAddress& ip) const noexcept;
  // A peer datagram's source that must not reach a client: one of our listeners, or another port
  // of our own host that no allocation holds (counted).
  [[nodiscard]] bool from_own_service(const SocketAddress& source) noexcept;
  // Our listening address, whether or not peers.allow_listeners opened it.
  [[nodiscard]] bool is_listener_address(const SocketAddress& address) const noexcept;
  // One of the server's own listening addresses (exact address and port).
  [[nodiscard]] bool is_own_listener(const SocketAddress& address) const noexcept;
  // Our own relays, in their advertised or local form (any worker's: the port range is shared).
  [[nodiscard]] bool is_own_relay(const SocketAddress& address) const noexcept;
  // The local (bind) form of one of our relayed addresses: where the kernel delivers it.
  [[nodiscard]] SocketAddress local_form(const SocketAddress& relayed) const noexcept;
  // The advertised form of a source that is one of our relay sockets (the reverse mapping).
  [[nodiscard]] SocketAddress public_form(const SocketAddress& source) const noexcept;
  // responses.cpp: answers, and the amplification limits on them
  void send_error(Request& req, uint16_t code);  // with MESSAGE-INTEGRITY once authenticated
  void add_error_code(const Request& req, stun::MessageBuilder& b, uint16_t code, size_t rest);
  void send_challenge(Request& req, uint16_t code);  // 401 / 438 with REALM + NONCE
  void send_unknown_attributes(Request& req, std::span<const uint16_t> types);
  void send_success(Request& req, stun::MessageBuilder& builder);
  void send(Request& req, stun::MessageBuilder& builder);  // adds integrity (if any) + FINGERPRINT
  // The unauthenticated-request limit for this request's source; false: drop it, answer nothing.
  bool charge_unauthenticated(Request& req) noexcept;
  // The same limit, paid before verifying MESSAGE-INTEGRITY (refunded if it verifies); false: drop.
  bool pay_before_verifying(Request& req) noexcept;
  // Whether a response of `size` bytes may go to this request's source without amplification.
  [[nodiscard]] bool fits_request(const Request& req, size_t size) const noexcept;

  ServerConfig config_;
  Dependencies deps_;
  auth::Authenticator authenticator_;
  metrics::Counters counters_;
  AllocationTable table_;
  std::vector<uint8_t> scratch_;        // response buffer, reused
  std::vector<uint8_t> relay_scratch_;  // internal (hairpin) delivery buffer, reused
  std::vector<AllocationId> due_;       // reused by advance()
  // RESERVATION-TOKEN -> our allocation holding it. The registry (deps_.reservations) says whether
  // a token is still good; this only finds the local holder, to stop its release timer when the
  // token is redeemed here.
  std::unordered_map<uint64_t, AllocationId> holders_;
  // Each stream of identifiers has its own secret from the CSPRNG, so none can be derived from
  // another (RFC 8656 §21.3.3): RESERVATION-TOKENs from a keyed PRF, Data-indication transaction
  // ids from a fast generator seeded apart (seeing them tells only later transaction ids); the
  // limiter's hash key and the relay port choice (net::SharedRelayPorts) have their own too.
  crypto::SecretStream tokens_;
  uint64_t transaction_state_;
  policy::IpRateLimiter unauthenticated_;
  std::bitset<65536> own_listener_ports_;  // quick filter before the exact scan
  std::vector<IpAddress> own_hosts_;       // canonical, sorted (is_own_host: binary search)
  uint64_t own_generation_ = 1;            // bumped by set_own_addresses (PeerVerdict)
  bool draining_ = false;
};

}  // namespace turnpike::turn
