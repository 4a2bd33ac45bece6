// turn::Server: the data path — Send indications and ChannelData from the client (RFC 8656 §11.2,
// §12), peer datagrams to the client as ChannelData or Data indications (§11.3, §12.4), and
// hairpinning between two allocations of this server.
#include <gtest/gtest.h>

#include "support/test_client.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace attr = stun::attr;

const FiveTuple kClient = udp_tuple("198.51.100.10:40000");
const SocketAddress kPeer = address("93.184.216.34:5000");
const Bytes kPayload = bytes_of("odd-len");  // 7 bytes: padding shows up if mishandled

// A client with an allocation and a permission for kPeer.
struct Connected {
  explicit Connected(Harness& h, FiveTuple tuple = kClient) : client(h, tuple) {
    EXPECT_TRUE(client.allocate().is_success());
    EXPECT_TRUE(client.create_permission({kPeer}).is_success());
  }
  TestClient client;
};

// ---- client -> peer

TEST(SendIndication, WithPermissionRelaysTheExactPayload) {
  Harness h;
  Connected c(h);
  c.client.send_indication(kPeer, kPayload);
  ASSERT_EQ(h.outbox.peer_packets.size(), 1u);
  EXPECT_EQ(h.outbox.peer_packets[0].peer, kPeer);
  EXPECT_EQ(h.outbox.peer_packets[0].bytes, kPayload);
  EXPECT_EQ(h.outbox.peer_packets[0].relay, c.client.allocation_id());
  EXPECT_TRUE(h.outbox.for_client(kClient, h.outbox.client_packets.size()).empty());
}

TEST(SendIndication, WithoutPermissionIsDropped) {
  Harness h;
  Connected c(h);
  c.client.send_indication(address("93.184.216.99:5000"), kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

TEST(SendIndication, WithoutAllocationIsDropped) {
  Harness h;
  Connected c(h);
  TestClient other(h, udp_tuple("198.51.100.10:40001"));
  other.send_indication(kPeer, kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

// RFC 8489 §6.3.2: an indication with an unknown comprehension-required attribute is discarded.
TEST(SendIndication, WithUnknownComprehensionRequiredAttributeIsDropped) {
  Harness h;
  Connected c(h);
  const uint8_t value[4] = {1, 2, 3, 4};
  c.client.send_indication(kPeer, kPayload, [&](stun::MessageBuilder& b) { b.add(0x0031, value); });
  EXPECT_TRUE(h.outbox.peer_packets.empty()) << "relayed despite unknown attribute 0x0031";
}

// RFC 8656 §11.2: a server that cannot set DF (this one: Allocate answers DONT-FRAGMENT with 420)
// treats DONT-FRAGMENT in a Send indication as unknown comprehension-required: discarded.
TEST(SendIndication, WithDontFragmentIsDropped) {
  Harness h;
  Connected c(h);
  c.client.send_indication(kPeer, kPayload,
                           [](stun::MessageBuilder& b) { b.add(attr::kDontFragment, {}); });
  EXPECT_TRUE(h.outbox.peer_packets.empty()) << "relayed despite DONT-FRAGMENT";
}

TEST(ChannelData, AfterChannelBindRelaysTheExactPayload) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).is_success());
  c.send_channel_data(0x4001, kPayload);
  ASSERT_EQ(h.outbox.peer_packets.size(), 1u);
  EXPECT_EQ(h.outbox.peer_packets[0].peer, kPeer);
  EXPECT_EQ(h.outbox.peer_packets[0].bytes, kPayload);
  c.send_channel_data(0x4001, kPayload, 1);  // UDP padding after the data is ignored
  ASSERT_EQ(h.outbox.peer_packets.size(), 2u);
  EXPECT_EQ(h.outbox.peer_packets[1].bytes, kPayload);
}

TEST(ChannelData, UnboundChannelIsDropped) {
  Harness h;
  Connected c(h);
  ASSERT_TRUE(c.client.channel_bind(0x4001, kPeer).is_success());
  c.client.send_channel_data(0x4002, kPayload);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

TEST(ChannelData, ShortMessagesAreDropped) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).is_success());
  const Bytes truncated = {0x40, 0x01, 0x00, 0x08, 'a', 'b', 'c'};  // claims 8, carries 3
  h.deliver(kClient, truncated);
  const Bytes header_only = {0x40, 0x01, 0x00};
  h.deliver(kClient, header_only);
  const Bytes one_byte = {0x40};
  h.deliver(kClient, one_byte);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

// ---- peer -> client

TEST(PeerData, WithChannelBecomesChannelDataWithoutPaddingOverUdp) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).is_success());
  const size_t before = h.outbox.client_packets.size();
  const Bytes five = bytes_of("12345");
  h.from_peer(c.allocation_id(), kPeer, five);
  const auto got = h.outbox.for_client(kClient, before);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, (Bytes{0x40, 0x01, 0x00, 0x05, '1', '2', '3', '4', '5'}));
}

TEST(PeerData, WithPermissionOnlyBecomesADataIndication) {
  Harness h;
  Connected c(h);
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(c.client.allocation_id(), kPeer, kPayload);
  const auto got = h.outbox.for_client(kClient, before);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes.size() % 4, 0u);
  const Reply r = Reply::decode(got[0].bytes);
  ASSERT_TRUE(r.parsed);
  EXPECT_EQ(r.method, Method::kData);
  EXPECT_EQ(r.cls, stun::Class::kIndication);
  EXPECT_EQ(r.peer, kPeer);
  EXPECT_EQ(r.data, kPayload);
}

TEST(PeerData, Ipv6PeerDataIndicationCarriesThePeerAddress) {
  HarnessOptions o;
  o.config.ipv6_relay = true;
  Harness h(o);
  TestClient c(h, kClient);
  const SocketAddress peer6 = address("[2a00:1450:4001:80b::200e]:3478");
  ASSERT_TRUE(c.allocate([](stun::MessageBuilder& b) {
                 b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
               }).is_success());
  ASSERT_TRUE(c.create_permission({peer6}).is_success());
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(c.allocation_id(), peer6, kPayload);
  const auto got = h.outbox.for_client(kClient, before);
  ASSERT_EQ(got.size(), 1u);
  const Reply r = Reply::decode(got[0].bytes);
  ASSERT_TRUE(r.parsed);
  EXPECT_EQ(r.peer, peer6);  // XORed with cookie + transaction id
  EXPECT_EQ(r.data, kPayload);
}

TEST(PeerData, ChannelIsPerTransportAddressPermissionPerIp) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).is_success());
  const size_t before = h.outbox.client_packets.size();
  const SocketAddress same_ip_other_port = address("93.184.216.34:5001");
  h.from_peer(c.allocation_id(), same_ip_other_port, kPayload);
  const auto got = h.outbox.for_client(kClient, before);
  ASSERT_EQ(got.size(), 1u);
  const Reply r = Reply::decode(got[0].bytes);
  ASSERT_TRUE(r.parsed);  // a Data indication, not the channel
  EXPECT_EQ(r.peer, same_ip_other_port);
}

TEST(PeerData, WithoutPermissionIsDropped) {
  Harness h;
  Connected c(h);
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(c.client.allocation_id(), address("93.184.216.99:5000"), kPayload);
  EXPECT_EQ(h.outbox.client_packets.size(), before);
}

TEST(PeerData, ForAStaleAllocationIdIsDropped) {
  Harness h;
  Connected c(h);
  const turn::AllocationId id = c.client.allocation_id();
  ASSERT_TRUE(c.client.refresh(0).is_success());
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(id, kPeer, kPayload);
  EXPECT_EQ(h.outbox.client_packets.size(), before);
}

TEST(PeerData, ChannelDataIsPaddedOverTcp) {
  Harness h;
  const FiveTuple tcp = tcp_tuple("198.51.100.10:40000", 3);
  TestClient c(h, tcp);
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).is_success());
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(c.allocation_id(), kPeer, bytes_of("12345"));
  const auto got = h.outbox.for_client(tcp, before);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, (Bytes{0x40, 0x01, 0x00, 0x05, '1', '2', '3', '4', '5', 0, 0, 0}));
}

// ---- hairpin: both ends are clients of this server

struct HairpinPair {
  explicit HairpinPair(Harness& h)
      : a(h, udp_tuple("198.51.100.10:40000")), b(h, udp_tuple("198.51.100.20:40000")) {
    EXPECT_TRUE(a.allocate().is_success());
    EXPECT_TRUE(b.allocate().is_success());
  }
  TestClient a;
  TestClient b;
};

HarnessOptions loopback_relays() {
  HarnessOptions o;
  o.relay_ipv4 = IpAddress::v4(127, 0, 0, 1);  // denied by the default filter as a peer
  return o;
}

TEST(Hairpin, SendToAnotherAllocationIsDeliveredInternally) {
  Harness h(loopback_relays());
  HairpinPair p(h);
  ASSERT_TRUE(p.a.relayed && p.b.relayed);
  EXPECT_EQ(p.a.relayed->ip, IpAddress::v4(127, 0, 0, 1));
  ASSERT_TRUE(p.a.create_permission({*p.b.relayed}).is_success());  // exempt from the filter
  ASSERT_TRUE(p.b.create_permission({*p.a.relayed}).is_success());
  const size_t before = h.outbox.client_packets.size();
  p.a.send_indication(*p.b.relayed, bytes_of("hello"));
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  const auto got = h.outbox.for_client(p.b.tuple, before);
  ASSERT_EQ(got.size(), 1u);
  const Reply r = Reply::decode(got[0].bytes);
  ASSERT_TRUE(r.parsed);
  EXPECT_EQ(r.method, Method::kData);
  EXPECT_EQ(r.peer, *p.a.relayed);
  EXPECT_EQ(r.data, bytes_of("hello"));
}

TEST(Hairpin, ChannelDataToAnotherAllocationUsesItsChannel) {
  Harness h(loopback_relays());
  HairpinPair p(h);
  ASSERT_TRUE(p.a.channel_bind(0x4001, *p.b.relayed).is_success());
  ASSERT_TRUE(p.b.channel_bind(0x4002, *p.a.relayed).is_success());
  const size_t before = h.outbox.client_packets.size();
  p.a.send_channel_data(0x4001, bytes_of("12345"));
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  const auto got = h.outbox.for_client(p.b.tuple, before);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, (Bytes{0x40, 0x02, 0x00, 0x05, '1', '2', '3', '4', '5'}));
}

TEST(Hairpin, WithoutTheReceiversPermissionNothingIsDelivered) {
  Harness h(loopback_relays());
  HairpinPair p(h);
  ASSERT_TRUE(p.a.create_permission({*p.b.relayed}).is_success());
  const size_t before = h.outbox.client_packets.size();
  p.a.send_indication(*p.b.relayed, bytes_of("hello"));
  EXPECT_EQ(h.outbox.client_packets.size(), before);
  EXPECT_TRUE(h.outbox.peer_packets.empty());
}

TEST(Hairpin, ExemptionCoversRelayAddressesOnlyNotOtherPortsOfTheirIp) {
  Harness h(loopback_relays());
  HairpinPair p(h);
  EXPECT_TRUE(p.a.create_permission({address("127.0.0.1:22")}).is_error(stun::error::kForbidden));
  EXPECT_TRUE(p.a.channel_bind(0x4001, address("127.0.0.1:22")).is_error(stun::error::kForbidden));
}

// Permissions are per IP (RFC 8656 §9), so the permission the hairpin exemption granted for B's
// relayed address (127.0.0.1:5000x) covers 127.0.0.1 on every port. A Send indication to another
// port of that IP is not to one of our relays: it must still respect the peer filter (RFC 8656
// §11.2: restricted peer addresses are silently discarded; the server's own loopback services,
// CVE-2020-26262) and never reach the network.
TEST(Hairpin, PermissionFromTheExemptionDoesNotOpenLoopbackToSend) {
  Harness h(loopback_relays());
  HairpinPair p(h);
  ASSERT_TRUE(p.a.create_permission({*p.b.relayed}).is_success());
  p.a.send_indication(address("127.0.0.1:22"), bytes_of("SSH-2.0-probe\r\n"));
  EXPECT_TRUE(h.outbox.peer_packets.empty())
      << "relayed to " << h.outbox.peer_packets.front().peer.to_string();
}

// The same with relays bound to a private address behind 1:1 NAT (the cloud case): a permission
// obtained for B's *local* relay address opens the host's private IP on every port.
TEST(Hairpin, PermissionFromTheExemptionDoesNotOpenThePrivateRelayIp) {
  HarnessOptions o;
  o.relay_ipv4 = IpAddress::v4(10, 0, 0, 5);
  o.config.advertised_ipv4 = IpAddress::v4(198, 51, 100, 200);
  Harness h(o);
  HairpinPair p(h);
  const SocketAddress b_local{IpAddress::v4(10, 0, 0, 5), p.b.relayed->port};
  ASSERT_TRUE(p.a.create_permission({b_local}).is_success());
  p.a.send_indication(address("10.0.0.5:6379"), bytes_of("CONFIG GET *\r\n"));
  EXPECT_TRUE(h.outbox.peer_packets.empty())
      << "relayed to " << h.outbox.peer_packets.front().peer.to_string();
}

TEST(Hairpin, AdvertisedAddressesHairpinToo) {
  HarnessOptions o;
  o.relay_ipv4 = IpAddress::v4(10, 0, 0, 5);
  o.config.advertised_ipv4 = IpAddress::v4(198, 51, 100, 200);
  Harness h(o);
  HairpinPair p(h);
  EXPECT_EQ(p.a.relayed->ip, IpAddress::v4(198, 51, 100, 200));
  ASSERT_TRUE(p.a.create_permission({*p.b.relayed}).is_success());
  ASSERT_TRUE(p.b.create_permission({*p.a.relayed}).is_success());
  const size_t before = h.outbox.client_packets.size();
  p.a.send_indication(*p.b.relayed, bytes_of("hi"));
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  const auto got = h.outbox.for_client(p.b.tuple, before);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Reply::decode(got[0].bytes).peer, *p.a.relayed);
}

}  // namespace
}  // namespace turnpike::testing
