// One turn::Server wired to fakes: fixed credentials (two static users, two TURN REST secrets), a
// nonce issuer with a fixed key, a PeerFilter, FakeRelays, a FakeQuota (the config's limits), a
// RecordingOutbox and a FakeClock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "support/fake_clock.h"
#include "support/fake_quota.h"
#include "support/fake_relays.h"
#include "support/recording_outbox.h"
#include "support/stun_reply.h"
#include "turnpike/auth/credential_store.h"
#include "turnpike/auth/nonce_issuer.h"
#include "turnpike/policy/peer_filter.h"
#include "turnpike/turn/server.h"

namespace turnpike::testing {

inline constexpr std::string_view kAlice = "alice";
inline constexpr std::string_view kAlicePassword = "alice-secret";
inline constexpr std::string_view kBob = "bob";
inline constexpr std::string_view kBobPassword = "bob-secret";
inline constexpr std::string_view kRestSecretOne = "rest-secret-one";
inline constexpr std::string_view kRestSecretTwo = "rest-secret-two";

inline SocketAddress address(std::string_view text) { return *SocketAddress::parse(text); }
inline IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }

inline FiveTuple udp_tuple(std::string_view client, std::string_view server = "192.0.2.1:3478") {
  FiveTuple t;
  t.client = address(client);
  t.server = address(server);
  t.transport = Transport::kUdp;
  t.connection_id = 0;
  return t;
}

inline FiveTuple tcp_tuple(std::string_view client, uint64_t connection_id,
                           std::string_view server = "192.0.2.1:3478") {
  FiveTuple t = udp_tuple(client, server);
  t.transport = Transport::kTcp;
  t.connection_id = connection_id;
  return t;
}

// A ChannelData message (RFC 8656 §12.4): channel, length, payload, then `padding` zero bytes.
inline Bytes channel_data(uint16_t channel, ByteView payload, size_t padding = 0) {
  Bytes out(4, 0);
  store_be16(out.data(), channel);
  store_be16(out.data() + 2, static_cast<uint16_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), padding, uint8_t{0});
  return out;
}

struct HarnessOptions {
  turn::ServerConfig config;
  std::vector<policy::Cidr> allow;  // PeerFilter allow ranges (the default deny list applies)
  IpAddress relay_ipv4 = IpAddress::v4(203, 0, 113, 7);
  IpAddress relay_ipv6 = *IpAddress::parse("2a01:4f8::7");
  // The RESERVATION-TOKEN registry; null: the harness's own FakeRelays. Another harness's relays
  // make the two servers two workers of one daemon (a token minted by one, redeemed by the other).
  turn::ReservationRegistry* reservations = nullptr;
  // Which relay ports are live on any worker; null: the harness's own FakeRelays.
  const turn::RelayPortDirectory* relay_ports = nullptr;
  // The allocation quotas; null: the harness's own FakeQuota, with the config's limits. Another
  // harness's quota makes the two servers two workers of one daemon.
  turn::AllocationQuota* quota = nullptr;
};

class Harness {
 public:
  explicit Harness(HarnessOptions options = HarnessOptions())
      : config(options.config),
        nonces(as_bytes("0123456789abcdef0123456789abcdef"), options.config.nonce_lifetime_ms),
        filter(options.allow, {}),
        relays(options.relay_ipv4, options.relay_ipv6),
        own_quota(turn::quota_limits(options.config)),
        quota(options.quota != nullptr ? *options.quota : own_quota),
        server(options.config,
               turn::Dependencies{credentials, nonces, filter, relays,
                                  options.reservations != nullptr ? *options.reservations : relays,
                                  quota, outbox, observer,
                                  options.relay_ports != nullptr ? *options.relay_ports : relays}) {
    credentials.add_static_user(std::string(kAlice), Secret(std::string(kAlicePassword)));
    credentials.add_static_user(std::string(kBob), Secret(std::string(kBobPassword)));
    credentials.set_rest_secrets(
        {Secret(std::string(kRestSecretOne)), Secret(std::string(kRestSecretTwo))});
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  [[nodiscard]] Now now() const { return clock.now(); }
  void advance_ms(Millis ms) { clock.advance_ms(ms); }
  void advance_s(int64_t s) { clock.advance_s(s); }
  // Runs the server's timers at the current time.
  void tick() { server.advance(clock.now()); }

  void deliver(const FiveTuple& from, ByteView bytes) {
    server.on_client_message(from, bytes, clock.now());
  }

  // A datagram from `peer` arriving on `relay`'s socket, in a buffer with the headroom and
  // tailroom PeerPacket promises (filled with 0xEE so stray reads show up).
  void from_peer(turn::AllocationId relay, const SocketAddress& peer, ByteView payload) {
    Bytes buffer(turn::PeerPacket::kHeadroom + payload.size() + turn::PeerPacket::kTailroom, 0xEE);
    uint8_t* start = buffer.data() + turn::PeerPacket::kHeadroom;
    std::copy(payload.begin(), payload.end(), start);
    server.on_peer_datagram(relay, peer, turn::PeerPacket{start, payload.size()}, clock.now());
  }

  FakeClock clock;
  turn::ServerConfig config;
  auth::CredentialStore credentials;
  auth::NonceIssuer nonces;
  policy::PeerFilter filter;
  FakeRelays relays;
  FakeQuota own_quota;
  turn::AllocationQuota& quota;
  RecordingOutbox outbox;
  RecordingObserver observer;
  turn::Server server;
};

}  // namespace turnpike::testing
