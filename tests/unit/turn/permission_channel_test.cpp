// turn::Server: CreatePermission (RFC 8656 §9, §10) with the peer address policy, and ChannelBind
// (RFC 8656 §12).
#include <gtest/gtest.h>

#include "support/test_client.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace attr = stun::attr;
namespace err = stun::error;

const FiveTuple kClient = udp_tuple("198.51.100.10:40000");
const SocketAddress kPeer = address("93.184.216.34:5000");
const SocketAddress kPeer2 = address("93.184.216.35:5000");
const SocketAddress kPeer3 = address("93.184.216.36:5000");
const Bytes kPayload = bytes_of("payload");

// ---- CreatePermission

TEST(CreatePermission, SuccessInstallsThePermission) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  c.send_indication(kPeer, kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());  // no permission yet
  const Reply r = c.create_permission({kPeer});
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_EQ(r.method, Method::kCreatePermission);
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  c.send_indication(kPeer, kPayload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 1u);
}

TEST(CreatePermission, SeveralPeersInOneRequest) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.create_permission({kPeer, kPeer2}).is_success());
  c.send_indication(kPeer, kPayload);
  c.send_indication(kPeer2, kPayload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 2u);
}

TEST(CreatePermission, DeniedPeersGet403) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  for (const char* peer : {"10.0.0.1:5000", "127.0.0.1:5000", "169.254.169.254:80",
                           "192.168.1.1:5000", "0.0.0.0:5000"}) {
    const Reply r = c.create_permission({address(peer)});
    EXPECT_TRUE(r.is_error(err::kForbidden)) << peer << " got " << r.error;
    EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
    c.send_indication(address(peer), kPayload);
  }
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  EXPECT_FALSE(h.observer.denied_peers.empty());
}

TEST(CreatePermission, DeniedIpv4InIpv6FormsGet403OnAnIpv6Relay) {
  HarnessOptions o;
  o.config.ipv6_relay = true;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate([](stun::MessageBuilder& b) {
                 b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
               }).is_success());
  for (const char* peer : {"[::ffff:127.0.0.1]:5000", "[::ffff:10.0.0.1]:5000",
                           "[64:ff9b::a9fe:a9fe]:80", "[::1]:5000", "[fe80::1]:5000"}) {
    EXPECT_TRUE(c.create_permission({address(peer)}).is_error(err::kForbidden)) << peer;
  }
  EXPECT_TRUE(c.create_permission({address("[2a00:1450::1]:5000")}).is_success());
}

TEST(CreatePermission, AllowListOverridesTheDefaultDenyList) {
  HarnessOptions o;
  o.allow = {*policy::Cidr::parse("127.0.0.0/8")};
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.create_permission({address("127.0.0.1:5000")}).is_success());
  EXPECT_TRUE(c.create_permission({address("10.0.0.1:5000")}).is_error(err::kForbidden));
}

TEST(CreatePermission, OneDeniedPeerRejectsTheWholeRequest) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.create_permission({kPeer, address("10.0.0.1:5000")}).is_error(err::kForbidden));
  c.send_indication(kPeer, kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

TEST(CreatePermission, Ipv6PeerOnIpv4RelayGets443) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.create_permission({address("[2a00:1450::1]:5000")})
                  .is_error(err::kPeerAddressFamilyMismatch));
}

TEST(CreatePermission, WithoutPeerAddressGets400) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.request(Method::kCreatePermission).is_error(err::kBadRequest));
}

TEST(CreatePermission, CapGets508AndRefreshingStillWorks) {
  HarnessOptions o;
  o.config.max_permissions = 2;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.create_permission({kPeer, kPeer2}).is_success());
  EXPECT_TRUE(c.create_permission({kPeer3}).is_error(err::kInsufficientCapacity));
  EXPECT_TRUE(c.create_permission({kPeer2, kPeer}).is_success());
  c.send_indication(kPeer3, kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

// An expired permission no longer exists (RFC 8656 §9: it lasts 300 s), so it must not count
// against max_permissions — even if the embedder's timer has not run advance() yet (the header
// promises expired entries are never used before the timer reaps them; ChannelBind reaps first).
TEST(CreatePermission, ExpiredPermissionsDoNotCountAgainstTheCap) {
  HarnessOptions o;
  o.config.max_permissions = 1;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.create_permission({kPeer}).is_success());
  h.advance_s(300);  // kPeer's permission has expired; advance() not called yet
  const Reply r = c.create_permission({kPeer2});
  EXPECT_TRUE(r.is_success()) << "got error " << r.error;
}

TEST(CreatePermission, OnAnotherUsersAllocationGets441) {
  Harness h;
  TestClient alice(h, kClient);
  TestClient bob(h, kClient, std::string(kBob), std::string(kBobPassword));
  ASSERT_TRUE(alice.allocate().is_success());
  EXPECT_TRUE(bob.create_permission({kPeer}).is_error(err::kWrongCredentials));
  bob.send_indication(kPeer, kPayload);  // same 5-tuple: uses alice's allocation, no permission
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

TEST(CreatePermission, WithoutAllocationGets437) {
  Harness h;
  TestClient c(h, kClient);
  EXPECT_TRUE(c.create_permission({kPeer}).is_error(err::kAllocationMismatch));
}

// ---- ChannelBind

TEST(ChannelBind, Success) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  const Reply r = c.channel_bind(0x4000, kPeer);
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_EQ(r.method, Method::kChannelBind);
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_TRUE(c.channel_bind(0x4FFF, kPeer2).is_success());  // top of the range
}

TEST(ChannelBind, NumberOutOfRangeGets400) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x3FFF, kPeer).is_error(err::kBadRequest));
  EXPECT_TRUE(c.channel_bind(0x0000, kPeer).is_error(err::kBadRequest));
  EXPECT_TRUE(c.channel_bind(0x8000, kPeer).is_error(err::kBadRequest));
}

TEST(ChannelBind, LegacyRangeAcceptedUnlessStrict) {
  // RFC 5766 clients pick numbers up to 0x7FFF; RFC 8656 reserves 0x5000-0x7FFF.
  {
    Harness h;
    TestClient c(h, kClient);
    ASSERT_TRUE(c.allocate().is_success());
    EXPECT_TRUE(c.channel_bind(0x7FFF, kPeer).is_success());
  }
  HarnessOptions strict;
  strict.config.strict_channel_numbers = true;
  Harness h(strict);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x5000, kPeer).is_error(err::kBadRequest));
  EXPECT_TRUE(c.channel_bind(0x4FFF, kPeer).is_success());
}

TEST(ChannelBind, SameChannelToAnotherPeerGets400) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, kPeer2).is_error(err::kBadRequest));
  EXPECT_TRUE(c.channel_bind(0x4000, address("93.184.216.34:5001")).is_error(err::kBadRequest));
}

TEST(ChannelBind, SamePeerOnAnotherChannelGets400) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  EXPECT_TRUE(c.channel_bind(0x4001, kPeer).is_error(err::kBadRequest));
}

TEST(ChannelBind, RebindingTheSamePairRefreshesIt) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate_with_lifetime(3600).is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  h.advance_s(500);
  h.tick();
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  h.advance_s(200);  // 700 s after the first bind, 200 s after the second
  h.tick();
  c.send_channel_data(0x4000, kPayload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 1u);
}

TEST(ChannelBind, InstallsThePermission) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  c.send_indication(address("93.184.216.34:6000"), kPayload);  // same IP, any port
  ASSERT_EQ(h.outbox.peer_packets.size(), 1u);
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(c.allocation_id(), kPeer, kPayload);
  ASSERT_EQ(h.outbox.client_packets.size(), before + 1);
  EXPECT_EQ(h.outbox.client_packets.back().bytes[0], 0x40);
}

TEST(ChannelBind, DeniedPeerGets403) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, address("127.0.0.1:22")).is_error(err::kForbidden));
  c.send_channel_data(0x4000, kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

TEST(ChannelBind, Ipv6PeerOnIpv4RelayGets443) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, address("[2a00:1450::1]:5000"))
                  .is_error(err::kPeerAddressFamilyMismatch));
}

TEST(ChannelBind, MissingChannelNumberGets400) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.request(Method::kChannelBind, [](stun::MessageBuilder& b) {
                 b.add_xor_address(attr::kXorPeerAddress, kPeer);
               }).is_error(err::kBadRequest));
}

TEST(ChannelBind, CapGets508) {
  HarnessOptions o;
  o.config.max_channels = 1;
  Harness h(o);
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  EXPECT_TRUE(c.channel_bind(0x4001, kPeer2).is_error(err::kInsufficientCapacity));
}

}  // namespace
}  // namespace turnpike::testing
