// turn::Server: the abuse limits (docs/security.md) — challenge size (no amplification over UDP),
// unauthenticated requests per source, per-allocation bandwidth, our own listeners as peers, and
// the drain mode of a graceful shutdown.
#include <gtest/gtest.h>

#include <cstdio>

#include "support/test_client.h"
#include "turnpike/auth/nonce_issuer.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace attr = stun::attr;
namespace err = stun::error;

const FiveTuple kClient = udp_tuple("198.51.100.10:40000");
const SocketAddress kPeer = address("93.184.216.34:5000");

// An unauthenticated Allocate as a browser's first one: REQUESTED-TRANSPORT plus `extra`.
Bytes first_allocate(const Attrs& extra, bool fingerprint) {
  Bytes buffer;
  stun::MessageBuilder b(buffer, stun::make_type(Method::kAllocate, stun::Class::kRequest),
                         TestClient::next_transaction_id());
  b.add(attr::kRequestedTransport, TestClient::requested_transport(17));
  if (extra) extra(b);
  if (fingerprint) b.add_fingerprint();
  return buffer;
}

// ---- challenge size

struct Shape {
  const char* name;
  Attrs extra;
  bool fingerprint;
};

const std::vector<Shape>& typical_first_allocates() {
  static const std::vector<Shape> shapes = {
      {"REQUESTED-TRANSPORT (libwebrtc)", {}, false},
      {"REQUESTED-TRANSPORT + FINGERPRINT", {}, true},
      {"+ ORIGIN (older Chrome)",
       [](stun::MessageBuilder& b) { b.add_string(0x802F, "https://app.example.com"); }, true},
      {"+ LIFETIME", [](stun::MessageBuilder& b) { b.add_u32(attr::kLifetime, 600); }, true},
      {"+ LIFETIME + SOFTWARE",
       [](stun::MessageBuilder& b) {
         b.add_u32(attr::kLifetime, 3600);
         b.add_string(attr::kSoftware, "Mozilla Firefox");
       },
       true},
      {"+ LIFETIME + SOFTWARE (long) + EVEN-PORT",
       [](stun::MessageBuilder& b) {
         b.add_u32(attr::kLifetime, 3600);
         b.add_string(attr::kSoftware, "Citrix-3.2.4.5 'Marshal West'");
         const uint8_t even[1] = {0x80};
         b.add(attr::kEvenPort, even);
       },
       true},
  };
  return shapes;
}

// The part of a 401 that cannot be left out with the default realm "turnpike": header 20,
// ERROR-CODE without reason 8, REALM 12, NONCE (29 characters) 36; FINGERPRINT 8 when the request
// had one.
constexpr size_t kRequiredChallenge = 76;

TEST(ChallengeSize, NeverLargerThanTheRequestOrTheRequiredMinimum) {
  Harness h;
  for (const Shape& shape : typical_first_allocates()) {
    const Bytes request = first_allocate(shape.extra, shape.fingerprint);
    TestClient c(h, kClient);
    const Reply r = c.exchange(request);
    ASSERT_TRUE(r.is_error(err::kUnauthorized)) << shape.name;
    ASSERT_TRUE(r.realm && r.nonce) << shape.name;
    const size_t floor = kRequiredChallenge + (shape.fingerprint ? 8 : 0);
    std::printf("  %-44s request %3zu bytes -> 401 %3zu bytes%s%s\n", shape.name, request.size(),
                r.bytes.size(), r.password_algorithms ? " +PASSWORD-ALGORITHMS" : "",
                r.reason.empty() ? "" : " +reason");
    EXPECT_LE(r.bytes.size(), std::max(request.size(), floor)) << shape.name;
    EXPECT_EQ(r.has_fingerprint, shape.fingerprint) << shape.name;
  }
}

TEST(ChallengeSize, NoAmplificationOnceTheRequestCoversTheRequiredPart) {
  Harness h;
  // From the smallest request that can be answered without exceeding it, up to a full one.
  for (size_t pad = 44; pad <= 140; ++pad) {
    TestClient c(h, kClient);
    c.pad_unauthenticated = pad;
    const Bytes request = c.build(
        Method::kAllocate, TestClient::next_transaction_id(),
        [](stun::MessageBuilder& b) {
          b.add(attr::kRequestedTransport, TestClient::requested_transport(17));
        },
        false);
    const Reply r = c.exchange(request);
    ASSERT_TRUE(r.is_error(err::kUnauthorized)) << pad;
    EXPECT_LE(r.bytes.size(), request.size()) << "padding " << pad;
    // With FINGERPRINT: 84 required + 12 for PASSWORD-ALGORITHMS, + 12 for the reason phrase.
    EXPECT_EQ(r.password_algorithms.has_value(), request.size() >= 96) << request.size();
    EXPECT_EQ(r.reason.empty(), request.size() < 108) << request.size();
  }
}

TEST(ChallengeSize, SmallChallengeDoesNotAdvertisePasswordAlgorithms) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.exchange(first_allocate({}, true));
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_FALSE(r.password_algorithms);
  ASSERT_TRUE(r.nonce);
  // RFC 8489 §9.2: the feature bit and the attribute go together (the nonce's MAC covers the bits,
  // so the downgrade check stays sound); USERHASH needs no attribute and stays offered.
  const uint32_t features = auth::NonceIssuer::features_of(*r.nonce);
  EXPECT_EQ(features & auth::kFeaturePasswordAlgorithms, 0U);
  EXPECT_NE(features & auth::kFeatureUsernameAnonymity, 0U);
  // A classic client authenticates with it as usual.
  EXPECT_TRUE(c.allocate().is_success());
}

TEST(ChallengeSize, LargeEnoughRequestGetsTheWholeChallenge) {
  Harness h;
  TestClient c(h, kClient);
  c.pad_unauthenticated = 100;
  const Reply r = c.send_once(Method::kAllocate, {}, false);
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_TRUE(r.password_algorithms);
  EXPECT_EQ(r.reason, "Unauthorized");
  EXPECT_NE(auth::NonceIssuer::features_of(*r.nonce) & auth::kFeaturePasswordAlgorithms, 0U);
}

TEST(ChallengeSize, StreamsAlwaysGetTheWholeChallenge) {
  Harness h;
  TestClient c(h, tcp_tuple("198.51.100.10:40000", 7));
  const Reply r = c.exchange(first_allocate({}, false));
  ASSERT_TRUE(r.is_error(err::kUnauthorized));
  EXPECT_TRUE(r.password_algorithms);
  EXPECT_TRUE(r.has_fingerprint);
  EXPECT_EQ(r.reason, "Unauthorized");
}

TEST(ChallengeSize, GuardCanBeTurnedOff) {
  HarnessOptions o;
  o.config.small_challenges = false;
  Harness h(o);
  TestClient c(h, kClient);
  const Reply r = c.exchange(first_allocate({}, false));
  EXPECT_TRUE(r.password_algorithms);
}

TEST(ChallengeSize, StaleNonceChallengeFitsTheAuthenticatedRequest) {
  HarnessOptions o;
  o.config.nonce_lifetime_ms = 60'000;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  h.advance_s(61);
  const Bytes refresh = c.build(Method::kRefresh, TestClient::next_transaction_id(), {}, true);
  const Reply stale = c.exchange(refresh);
  ASSERT_TRUE(stale.is_error(err::kStaleNonce));
  EXPECT_LE(stale.bytes.size(), refresh.size());
  EXPECT_TRUE(stale.password_algorithms);  // an authenticated request is large enough for all
}

TEST(BindingSize, SoftwareOnlyWhenTheAnswerStaysSmallerThanTheRequest) {
  Harness h;
  TestClient small(h, kClient);
  const Reply r = small.send_once(Method::kBinding, {}, false);
  ASSERT_TRUE(r.is_success());
  EXPECT_FALSE(r.software);
  TestClient padded(h, udp_tuple("198.51.100.10:40001"));
  padded.pad_unauthenticated = 40;
  const Reply p = padded.send_once(Method::kBinding, {}, false);
  ASSERT_TRUE(p.is_success());
  EXPECT_TRUE(p.software);
}

// ---- unauthenticated requests per source

TEST(UnauthenticatedLimit, BurstThenSilenceThenTheRate) {
  HarnessOptions o;
  o.config.unauthenticated_rate_per_s = 50;
  o.config.unauthenticated_burst = 100;
  Harness h(o);
  const Bytes request = first_allocate({}, true);
  size_t answered = 0;
  for (int i = 0; i < 1000; ++i) {
    const size_t before = h.outbox.client_packets.size();
    h.deliver(udp_tuple("198.51.100.10:" + std::to_string(40000 + i)), request);
    answered += h.outbox.client_packets.size() - before;
  }
  EXPECT_EQ(answered, 100U);
  EXPECT_EQ(h.server.counters().get(turn::metric::kUnauthenticatedDropped), 900U);
  h.advance_ms(1000);  // 50 more
  answered = 0;
  for (int i = 0; i < 100; ++i) {
    const size_t before = h.outbox.client_packets.size();
    h.deliver(kClient, request);
    answered += h.outbox.client_packets.size() - before;
  }
  EXPECT_EQ(answered, 50U);
  // Other sources are not affected.
  TestClient other(h, udp_tuple("198.51.100.11:40000"));
  EXPECT_TRUE(other.send_once(Method::kBinding, {}, false).is_success());
}

TEST(UnauthenticatedLimit, FailedAuthenticationsCountAuthenticatedRequestsDoNot) {
  HarnessOptions o;
  o.config.unauthenticated_rate_per_s = 1;
  o.config.unauthenticated_burst = 3;
  Harness h(o);
  TestClient alice(h, kClient);
  ASSERT_TRUE(alice.allocate().is_success());  // the 401 took one token
  TestClient mallory(h, udp_tuple("198.51.100.10:40001"), "alice", "wrong");
  mallory.realm = alice.realm;
  mallory.nonce = alice.nonce;
  EXPECT_TRUE(mallory.send_once(Method::kRefresh, {}, true).is_error(err::kUnauthorized));
  EXPECT_TRUE(mallory.send_once(Method::kRefresh, {}, true).is_error(err::kUnauthorized));
  EXPECT_TRUE(
      mallory
          .send_bytes(mallory.build(Method::kRefresh, TestClient::next_transaction_id(), {}, true))
          .empty());  // over the limit: no answer
  // The authenticated client on the same IP keeps working: valid requests cost nothing.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(alice.refresh().is_success()) << i;
  ASSERT_TRUE(alice.create_permission({kPeer}).is_success());
}

TEST(UnauthenticatedLimit, TrackedSourcesAreBounded) {
  HarnessOptions o;
  o.config.unauthenticated_sources = 128;
  Harness h(o);
  const Bytes request = first_allocate({}, true);
  for (uint32_t i = 0; i < 20'000; ++i) {
    const std::string ip = "10." + std::to_string((i >> 16) & 255) + "." +
                           std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
    h.deliver(udp_tuple(ip + ":4000"), request);
  }
  EXPECT_LE(h.server.tracked_unauthenticated_sources(), 128U);
}

TEST(UnauthenticatedLimit, ZeroDisablesIt) {
  HarnessOptions o;
  o.config.unauthenticated_rate_per_s = 0;
  Harness h(o);
  const Bytes request = first_allocate({}, true);
  for (int i = 0; i < 1000; ++i) h.deliver(kClient, request);
  EXPECT_EQ(h.outbox.client_packets.size(), 1000U);
  EXPECT_EQ(h.server.counters().get(turn::metric::kUnauthenticatedDropped), 0U);
}

// ---- bandwidth per allocation

TEST(BandwidthLimit, ChannelDataOverTheCapIsDroppedAndCounted) {
  HarnessOptions o;
  o.config.max_bandwidth_per_allocation = 10'000;  // bucket: max(rate, 64 KiB) = 65536 bytes
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  const Bytes payload(1000, 0xAB);
  for (int i = 0; i < 100; ++i) c.send_channel_data(0x4000, payload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 65U);
  EXPECT_EQ(h.server.counters().get(turn::metric::kBandwidthDroppedPackets), 35U);
  EXPECT_EQ(h.server.counters().get(turn::metric::kBandwidthDroppedBytes), 35'000U);
  h.advance_ms(1000);  // 10,000 bytes more
  for (int i = 0; i < 20; ++i) c.send_channel_data(0x4000, payload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 65U + 10U);  // 536 + 10,000 bytes: ten more
}

TEST(BandwidthLimit, EachDirectionHasItsOwnBudget) {
  HarnessOptions o;
  o.config.max_bandwidth_per_allocation = 10'000;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  const Bytes payload(1000, 0xAB);
  for (int i = 0; i < 100; ++i) c.send_channel_data(0x4000, payload);  // to-peer budget spent
  const size_t before = h.outbox.client_packets.size();
  for (int i = 0; i < 100; ++i) h.from_peer(c.allocation_id(), kPeer, payload);
  EXPECT_EQ(h.outbox.client_packets.size() - before, 65U);
  EXPECT_EQ(h.server.counters().get(turn::metric::kBandwidthDroppedPackets), 35U + 35U);
}

TEST(BandwidthLimit, ZeroIsUnlimited) {
  HarnessOptions o;
  o.config.max_bandwidth_per_allocation = 0;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  const Bytes payload(60'000, 0xAB);
  for (int i = 0; i < 100; ++i) c.send_channel_data(0x4000, payload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 100U);
  EXPECT_EQ(h.server.counters().get(turn::metric::kBandwidthDroppedPackets), 0U);
}

TEST(BandwidthLimit, DefaultIsGenerousForMedia) {
  Harness h;  // default: 12.5 MB/s per direction
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  const Bytes payload(1200, 0xAB);
  // 20 Mbit/s of 1200-byte packets for 5 s (2083 packets per second).
  for (int ms = 0; ms < 5000; ++ms) {
    for (int k = 0; k < 2 + (ms % 12 == 0 ? 1 : 0); ++k) c.send_channel_data(0x4000, payload);
    h.advance_ms(1);
  }
  EXPECT_EQ(h.server.counters().get(turn::metric::kBandwidthDroppedPackets), 0U);
}

// ---- our own listening addresses are never peers (RFC 8656 §21.1.7)

HarnessOptions with_listener() {
  HarnessOptions o;
  o.config.own_listeners = {address("192.0.2.1:3478"), address("192.0.2.1:5349")};
  o.allow = {*policy::Cidr::parse("192.0.2.0/24")};  // the peer filter alone would allow them
  o.config.ipv6_relay = true;
  return o;
}

TEST(OwnListeners, ChannelBindToAListenerGets403) {
  Harness h(with_listener());
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, address("192.0.2.1:3478")).is_error(err::kForbidden));
  EXPECT_TRUE(c.channel_bind(0x4001, address("192.0.2.1:3479")).is_success());
  EXPECT_EQ(h.server.counters().get(turn::metric::kOwnListenerDenied), 1U);
}

TEST(OwnListeners, SendToAListenerIsDroppedOtherPortsOfTheIpAreNot) {
  Harness h(with_listener());
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  // A permission is per IP (the port is ignored), so it is granted; the listener port is not.
  ASSERT_TRUE(c.create_permission({address("192.0.2.1:3478")}).is_success());
  c.send_indication(address("192.0.2.1:3478"), bytes_of("loop"));
  c.send_indication(address("192.0.2.1:5349"), bytes_of("loop"));
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  c.send_indication(address("192.0.2.1:8080"), bytes_of("fine"));
  ASSERT_EQ(h.outbox.peer_packets.size(), 1U);
  EXPECT_EQ(h.outbox.peer_packets[0].peer, address("192.0.2.1:8080"));
  EXPECT_EQ(h.server.counters().get(turn::metric::kOwnListenerDenied), 2U);
}

TEST(OwnListeners, Ipv4MappedFormOfAListenerIsRefusedToo) {
  Harness h(with_listener());
  TestClient c(h, udp_tuple("[2001:db8::10]:40000", "[2001:db8::1]:3478"));
  ASSERT_TRUE(c.allocate([](stun::MessageBuilder& b) {
                 b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
               }).is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, address("[::ffff:192.0.2.1]:3478")).is_error(err::kForbidden));
}

TEST(OwnListeners, DatagramsFromAListenerAreNotRelayed) {
  Harness h(with_listener());
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.create_permission({address("192.0.2.1:1")}).is_success());
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(c.allocation_id(), address("192.0.2.1:3478"), bytes_of("spoofed"));
  EXPECT_EQ(h.outbox.client_packets.size(), before);
  h.from_peer(c.allocation_id(), address("192.0.2.1:7000"), bytes_of("fine"));
  EXPECT_EQ(h.outbox.client_packets.size(), before + 1);
}

TEST(OwnListeners, AllowedExplicitly) {
  HarnessOptions o = with_listener();
  o.config.allow_own_listeners = true;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, address("192.0.2.1:3478")).is_success());
}

TEST(OwnListeners, TheDefaultPeerFilterStillApplies) {
  HarnessOptions o;
  o.config.own_listeners = {address("93.184.216.34:3478")};
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, address("10.0.0.1:3478")).is_error(err::kForbidden));
  EXPECT_TRUE(c.channel_bind(0x4001, address("93.184.216.34:3478")).is_error(err::kForbidden));
  EXPECT_TRUE(c.channel_bind(0x4002, address("93.184.216.34:3479")).is_success());
}

// ---- draining (SIGTERM with shutdown.grace_period)

TEST(Draining, NewAllocationsGet508ExistingOnesKeepWorking) {
  Harness h;
  TestClient old_client(h, kClient);
  ASSERT_TRUE(old_client.allocate().is_success());
  ASSERT_TRUE(old_client.channel_bind(0x4000, kPeer).is_success());
  h.server.set_draining(true);
  TestClient newcomer(h, udp_tuple("198.51.100.11:40000"));
  EXPECT_TRUE(newcomer.allocate().is_error(err::kInsufficientCapacity));
  EXPECT_EQ(h.server.counters().get(turn::metric::kDrainingRefused), 1U);
  EXPECT_TRUE(old_client.refresh().is_success());
  EXPECT_TRUE(old_client.create_permission({address("93.184.216.35:1")}).is_success());
  old_client.send_channel_data(0x4000, bytes_of("still relayed"));
  EXPECT_EQ(h.outbox.peer_packets.size(), 1U);
  EXPECT_TRUE(old_client.refresh(0).is_success());  // the client leaves: nothing left to drain
  EXPECT_EQ(h.server.allocation_count(), 0U);
}

}  // namespace
}  // namespace turnpike::testing
