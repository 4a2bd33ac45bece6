// The relayed-packet path allocates nothing: ChannelData and Send indications from the client,
// peer datagrams to the client as ChannelData or Data indications. Every global operator new of
// this test binary is counted; between the two readings only turn::Server runs (the outbox only
// counts).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "support/test_client.h"
#include "turnpike/turn/metrics.h"

// The replacements below pair malloc with free on purpose; GCC 12 reports inlined uses as
// mismatched (-Wmismatched-new-delete false positive).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace turnpike::testing {
namespace {

TEST(HotPath, RelayingAllocatesNothingInEitherDirection) {
  Harness h;
  const FiveTuple client = udp_tuple("198.51.100.10:40000");
  const SocketAddress peer_a = address("93.184.216.34:5000");
  const SocketAddress peer_b = address("93.184.216.35:5000");
  TestClient c(h, client);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4001, peer_a).is_success());
  ASSERT_TRUE(c.create_permission({peer_b}).is_success());
  ASSERT_GT(g_allocations.load(), 0u) << "the counting operator new is not in use";

  const Bytes payload(1000, 0x5A);
  const Bytes frame = channel_data(0x4001, payload);
  // The Send indication is built once, before counting starts.
  Bytes send_indication;
  {
    stun::MessageBuilder b(send_indication,
                           stun::make_type(stun::Method::kSend, stun::Class::kIndication),
                           Bytes(12, 7));
    b.add_xor_address(stun::attr::kXorPeerAddress, peer_b);
    b.add(stun::attr::kData, payload);
  }
  Bytes peer_buffer(turn::PeerPacket::kHeadroom + payload.size() + turn::PeerPacket::kTailroom);
  uint8_t* peer_payload = peer_buffer.data() + turn::PeerPacket::kHeadroom;
  const turn::AllocationId relay = c.allocation_id();
  h.outbox.count_only = true;
  h.outbox.clear();

  constexpr size_t kRounds = 2000;
  const size_t before = g_allocations.load();
  for (size_t i = 0; i < kRounds; ++i) {
    h.deliver(client, frame);
    h.deliver(client, send_indication);
    std::copy(payload.begin(), payload.end(), peer_payload);  // framing is done in place
    h.server.on_peer_datagram(relay, peer_a, turn::PeerPacket{peer_payload, payload.size()},
                              h.now());
    std::copy(payload.begin(), payload.end(), peer_payload);
    h.server.on_peer_datagram(relay, peer_b, turn::PeerPacket{peer_payload, payload.size()},
                              h.now());
  }
  const size_t allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0u) << "operator new calls while relaying " << 4 * kRounds << " packets";
  EXPECT_EQ(h.outbox.peer_count, 2 * kRounds);  // every packet went through: the test is real
  EXPECT_EQ(h.outbox.client_count, 2 * kRounds);
  EXPECT_EQ(h.outbox.peer_bytes, 2 * kRounds * payload.size());
}

// The own-host rule on the packet path (docs/security.md): a Send indication to an own address
// (refused), ChannelData to another worker's live relay and to a public peer, a datagram from an
// own service port (dropped) and one from a public peer. Nothing allocates either.
TEST(HotPath, OwnHostChecksAllocateNothing) {
  HarnessOptions o;
  o.relay_ipv4 = IpAddress::v4(93, 184, 216, 7);
  o.config.relay_ipv4 = o.relay_ipv4;
  Harness h(o);
  const std::vector<IpAddress> own = {o.relay_ipv4, IpAddress::v4(93, 184, 216, 8),
                                      *IpAddress::parse("2a01:4f8::7")};
  h.server.set_own_addresses(own, {SocketAddress{o.relay_ipv4, 3478}});
  const FiveTuple client = udp_tuple("198.51.100.10:40000");
  TestClient c(h, client);
  TestClient other(h, udp_tuple("198.51.100.20:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(other.allocate().is_success());
  const SocketAddress own_service{o.relay_ipv4, 5353};
  const SocketAddress public_peer = address("93.184.216.34:5000");
  ASSERT_TRUE(c.channel_bind(0x4001, public_peer).is_success());
  ASSERT_TRUE(c.channel_bind(0x4002, *other.relayed).is_success());
  ASSERT_TRUE(c.create_permission({own_service}).is_success());
  ASSERT_TRUE(other.create_permission({*c.relayed}).is_success());
  const Bytes payload(500, 0x5A);
  const Bytes to_public = channel_data(0x4001, payload);
  const Bytes to_fellow = channel_data(0x4002, payload);
  const Bytes to_own = c.send_indication_bytes(own_service, payload);
  Bytes peer_buffer(turn::PeerPacket::kHeadroom + payload.size() + turn::PeerPacket::kTailroom);
  uint8_t* peer_payload = peer_buffer.data() + turn::PeerPacket::kHeadroom;
  const turn::AllocationId relay = c.allocation_id();
  h.outbox.count_only = true;
  h.outbox.clear();

  constexpr size_t kRounds = 1000;
  h.observer.denied_peers.reserve(2 * kRounds);  // the test's observer records every refusal
  const size_t before = g_allocations.load();
  for (size_t i = 0; i < kRounds; ++i) {
    h.deliver(client, to_public);
    h.deliver(client, to_fellow);
    h.deliver(client, to_own);
    for (const SocketAddress& from : {own_service, public_peer}) {
      std::copy(payload.begin(), payload.end(), peer_payload);
      h.server.on_peer_datagram(relay, from, turn::PeerPacket{peer_payload, payload.size()},
                                h.now());
    }
  }
  const size_t allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0u) << "operator new calls while relaying " << 5 * kRounds << " packets";
  EXPECT_EQ(h.outbox.peer_count, kRounds);        // to the public peer only
  EXPECT_EQ(h.outbox.client_count, 2 * kRounds);  // hairpin + the public peer's datagram
  EXPECT_EQ(h.server.counters().get(turn::metric::kOwnHostDenied), 2 * kRounds);
}

}  // namespace
}  // namespace turnpike::testing
