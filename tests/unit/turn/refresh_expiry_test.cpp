// turn::Server: Refresh (RFC 8656 §8), lifetimes under an injected clock (allocations §7,
// permissions §9: 300 s, channels §12: 10 min), and TCP connection close (§3.1).
#include <gtest/gtest.h>

#include "support/test_client.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace attr = stun::attr;
namespace err = stun::error;

const FiveTuple kClient = udp_tuple("198.51.100.10:40000");
const SocketAddress kPeer = address("93.184.216.34:5000");
const Bytes kPayload = bytes_of("hello peer");

// ---- Refresh

TEST(Refresh, ExtendsTheAllocation) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  h.advance_s(500);
  const Reply r = c.refresh();
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_EQ(r.lifetime, 600u);
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(h.server.next_deadline(), h.now().mono_ms + 600'000);
  h.advance_s(500);  // 1000 s after the Allocate: past the first lifetime
  h.tick();
  EXPECT_EQ(h.server.allocation_count(), 1u);
  h.advance_s(100);
  h.tick();
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Refresh, RequestedLifetimeIsClampedBetweenDefaultAndMaximum) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_EQ(c.refresh(10'000).lifetime, 3600u);
  EXPECT_EQ(c.refresh(60).lifetime, 600u);
  EXPECT_EQ(c.refresh(900).lifetime, 900u);
}

TEST(Refresh, LifetimeZeroDeletesTheAllocation) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  const turn::AllocationId id = c.allocation_id();
  const Reply r = c.refresh(0);
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_EQ(r.lifetime, 0u);
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(h.server.allocation_count(), 0u);
  EXPECT_TRUE(h.relays.was_closed(id));
  EXPECT_TRUE(h.relays.open_relays.empty());
  EXPECT_EQ(h.observer.deleted, 1u);
  EXPECT_FALSE(h.server.next_deadline());
  EXPECT_TRUE(c.refresh().is_error(err::kAllocationMismatch));
  EXPECT_TRUE(c.allocate().is_success());  // the 5-tuple is free again
}

TEST(Refresh, WithoutAnAllocationGets437) {
  Harness h;
  TestClient a(h, kClient);
  TestClient other(h, udp_tuple("198.51.100.10:40001"));
  ASSERT_TRUE(a.allocate().is_success());
  const Reply r = other.refresh();
  EXPECT_TRUE(r.is_error(err::kAllocationMismatch));
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
}

TEST(Refresh, AnotherUserOnTheSameFiveTupleGets441) {
  Harness h;
  TestClient alice(h, kClient);
  TestClient bob(h, kClient, std::string(kBob), std::string(kBobPassword));
  ASSERT_TRUE(alice.allocate().is_success());
  const Reply r = bob.refresh(0);
  EXPECT_TRUE(r.is_error(err::kWrongCredentials));
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);  // under bob's key
  EXPECT_EQ(h.server.allocation_count(), 1u);
}

TEST(Refresh, MismatchedRequestedAddressFamilyGets443) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  const Reply r = c.request(Method::kRefresh, [](stun::MessageBuilder& b) {
    b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
  });
  EXPECT_TRUE(r.is_error(err::kPeerAddressFamilyMismatch));
}

// ---- Expiry

TEST(Expiry, AllocationIsReapedAfterItsLifetime) {
  Harness h;
  TestClient c(h, kClient);
  const Millis t0 = h.now().mono_ms;
  ASSERT_TRUE(c.allocate().is_success());
  const turn::AllocationId id = c.allocation_id();
  EXPECT_EQ(h.server.next_deadline(), t0 + 600'000);
  h.advance_ms(599'999);
  h.tick();
  EXPECT_EQ(h.server.allocation_count(), 1u);
  EXPECT_FALSE(h.relays.was_closed(id));
  h.advance_ms(1);
  h.tick();
  EXPECT_EQ(h.server.allocation_count(), 0u);
  EXPECT_TRUE(h.relays.was_closed(id));
  EXPECT_FALSE(h.server.next_deadline());
  // Data for the dead allocation goes nowhere.
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(id, kPeer, kPayload);
  EXPECT_EQ(h.outbox.client_packets.size(), before);
}

TEST(Expiry, PermissionExpiresAfter300SecondsWhileTheAllocationLives) {
  Harness h;
  TestClient c(h, kClient);
  const Millis t0 = h.now().mono_ms;
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.create_permission({kPeer}).is_success());
  EXPECT_EQ(h.server.next_deadline(), t0 + 300'000);
  const turn::AllocationId id = c.allocation_id();

  h.advance_s(299);
  h.tick();
  c.send_indication(kPeer, kPayload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 1u);
  size_t before = h.outbox.client_packets.size();
  h.from_peer(id, kPeer, kPayload);
  EXPECT_EQ(h.outbox.client_packets.size(), before + 1);

  h.advance_s(1);
  h.tick();
  EXPECT_EQ(h.server.allocation_count(), 1u);
  EXPECT_EQ(h.server.next_deadline(), t0 + 600'000);  // only the allocation is left
  c.send_indication(kPeer, kPayload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 1u);  // dropped
  before = h.outbox.client_packets.size();
  h.from_peer(id, kPeer, kPayload);
  EXPECT_EQ(h.outbox.client_packets.size(), before);  // dropped
}

TEST(Expiry, ExpiredPermissionIsNotUsedEvenBeforeTheTimerRuns) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.create_permission({kPeer}).is_success());
  h.advance_s(300);  // no tick()
  c.send_indication(kPeer, kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

TEST(Expiry, ChannelExpiresAfterTenMinutes) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate_with_lifetime(3600).is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeer).is_success());
  const turn::AllocationId id = c.allocation_id();
  h.advance_s(500);
  h.tick();
  ASSERT_TRUE(c.create_permission({kPeer}).is_success());  // the permission lives on to 800 s
  h.advance_s(99);
  h.tick();
  c.send_channel_data(0x4000, kPayload);
  ASSERT_EQ(h.outbox.peer_packets.size(), 1u);
  size_t before = h.outbox.client_packets.size();
  h.from_peer(id, kPeer, kPayload);
  ASSERT_EQ(h.outbox.client_packets.size(), before + 1);
  EXPECT_EQ(h.outbox.client_packets.back().bytes[0], 0x40);  // ChannelData

  h.advance_s(1);  // 600 s after the ChannelBind
  h.tick();
  c.send_channel_data(0x4000, kPayload);
  EXPECT_EQ(h.outbox.peer_packets.size(), 1u);  // the channel is gone
  before = h.outbox.client_packets.size();
  h.from_peer(id, kPeer, kPayload);
  ASSERT_EQ(h.outbox.client_packets.size(), before + 1);
  const Reply data = Reply::decode(h.outbox.client_packets.back().bytes);
  ASSERT_TRUE(data.parsed);  // a Data indication now, the permission still being there
  EXPECT_EQ(data.method, Method::kData);
  EXPECT_EQ(data.cls, stun::Class::kIndication);
}

// ---- TCP

TEST(TcpClose, ClosingTheConnectionDeletesTheAllocation) {
  Harness h;
  const FiveTuple tcp = tcp_tuple("198.51.100.10:40000", 7);
  TestClient c(h, tcp);
  ASSERT_TRUE(c.allocate().is_success());
  const turn::AllocationId id = c.allocation_id();
  h.server.on_client_closed(tcp_tuple("198.51.100.10:40000", 8), h.now());  // another connection
  EXPECT_EQ(h.server.allocation_count(), 1u);
  h.server.on_client_closed(tcp, h.now());
  EXPECT_EQ(h.server.allocation_count(), 0u);
  EXPECT_TRUE(h.relays.was_closed(id));
  EXPECT_FALSE(h.server.next_deadline());
}

}  // namespace
}  // namespace turnpike::testing
