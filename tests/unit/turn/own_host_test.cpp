// turn::Server: the host's own addresses are not peers (docs/security.md, "Own host addresses").
// Every port of every own address is refused on every path (Send, ChannelData, ChannelBind 403),
// in every IPv4-in-IPv6 spelling, whatever peers.allow says, except a port that a live allocation
// of this server holds (a fellow client: hairpin, on this worker or another); datagrams from the
// other ports are dropped; cached channel verdicts follow policy reloads and address changes.
#include <gtest/gtest.h>

#include <vector>

#include "support/test_client.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::testing {
namespace {

namespace attr = stun::attr;
namespace err = stun::error;
using turn::metric::kOwnHostDenied;
using turn::metric::kPeerDenied;

const IpAddress kOwnV4 = IpAddress::v4(93, 184, 216, 7);  // the relay address, public
const IpAddress kOwnV6 = *IpAddress::parse("2a01:4f8::7");
const IpAddress kOtherOwnV4 = IpAddress::v4(93, 184, 216, 8);  // another interface's address
const SocketAddress kDns{kOwnV4, 5353};                        // a service on 0.0.0.0:5353
const SocketAddress kUnheldRelayPort{kOwnV4, 50500};           // in the range, no allocation
const SocketAddress kPublicPeer = address("93.184.216.34:5000");

HarnessOptions public_relay(std::vector<policy::Cidr> allow = {}) {
  HarnessOptions o;
  o.relay_ipv4 = kOwnV4;
  o.relay_ipv6 = kOwnV6;
  o.config.relay_ipv4 = kOwnV4;
  o.config.relay_ipv6 = kOwnV6;
  o.config.ipv6_relay = true;
  o.allow = std::move(allow);
  return o;
}

// The worker's part: the interfaces' addresses, and the listener on them.
void set_interfaces(Harness& h, std::vector<IpAddress> hosts = {kOwnV4, kOtherOwnV4, kOwnV6}) {
  h.server.set_own_addresses(hosts, {SocketAddress{kOwnV4, 3478}});
}

uint64_t own_denied(const Harness& h) { return h.server.counters().get(kOwnHostDenied); }

TEST(OwnHost, SendToAnOwnAddressOnAPortNoAllocationHoldsIsDropped) {
  Harness h(public_relay());
  set_interfaces(h);
  TestClient c(h, udp_tuple("198.51.100.10:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  // Permissions are per IP: the own IP is granted, as for listener ports; its ports decide.
  ASSERT_TRUE(c.create_permission({kDns, SocketAddress{kOtherOwnV4, 1}}).is_success());
  c.send_indication(kDns, bytes_of("query"));
  c.send_indication(kUnheldRelayPort, bytes_of("to nobody's relay port"));
  c.send_indication(SocketAddress{kOtherOwnV4, 5353}, bytes_of("other interface"));
  EXPECT_TRUE(h.outbox.peer_packets.empty())
      << "relayed to " << h.outbox.peer_packets.front().peer.to_string();
  EXPECT_EQ(own_denied(h), 3U);
  EXPECT_EQ(h.server.counters().get(kPeerDenied), 3U);
  c.send_indication(kPublicPeer, bytes_of("fine"));
  ASSERT_TRUE(c.create_permission({kPublicPeer}).is_success());
  c.send_indication(kPublicPeer, bytes_of("fine"));
  ASSERT_EQ(h.outbox.peer_packets.size(), 1U);
  EXPECT_EQ(h.outbox.peer_packets[0].peer, kPublicPeer);
}

TEST(OwnHost, ChannelBindToAnOwnAddressGets403) {
  Harness h(public_relay());
  set_interfaces(h);
  TestClient c(h, udp_tuple("198.51.100.10:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, kDns).is_error(err::kForbidden));
  EXPECT_TRUE(c.channel_bind(0x4001, kUnheldRelayPort).is_error(err::kForbidden));
  EXPECT_TRUE(c.channel_bind(0x4002, SocketAddress{kOtherOwnV4, 53}).is_error(err::kForbidden));
  EXPECT_EQ(own_denied(h), 3U);
  EXPECT_TRUE(c.channel_bind(0x4003, kPublicPeer).is_success());
}

TEST(OwnHost, PeersAllowCoveringTheOwnAddressDoesNotReopenIt) {
  Harness h(public_relay({*policy::Cidr::parse("93.184.216.0/24")}));
  set_interfaces(h);
  TestClient c(h, udp_tuple("198.51.100.10:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, kDns).is_error(err::kForbidden));
  ASSERT_TRUE(c.create_permission({kDns}).is_success());
  c.send_indication(kDns, bytes_of("query"));
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  EXPECT_EQ(own_denied(h), 2U);
}

TEST(OwnHost, RelayAndAdvertisedAddressesAreOwnWithoutTheInterfaceList) {
  HarnessOptions o = public_relay();
  o.config.advertised_ipv4 = IpAddress::v4(93, 184, 216, 99);
  Harness h(o);  // set_own_addresses never called: the server knows its relay addresses
  TestClient c(h, udp_tuple("198.51.100.10:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, kDns).is_error(err::kForbidden));
  EXPECT_TRUE(c.channel_bind(0x4001, address("93.184.216.99:5353")).is_error(err::kForbidden));
  EXPECT_EQ(own_denied(h), 2U);
}

// ---- a port a live allocation holds: the legitimate client-to-client case

struct Pair {
  explicit Pair(Harness& h)
      : a(h, udp_tuple("198.51.100.10:40000")), b(h, udp_tuple("198.51.100.20:40000")) {
    EXPECT_TRUE(a.allocate().is_success());
    EXPECT_TRUE(b.allocate().is_success());
    EXPECT_TRUE(a.relayed && b.relayed);
  }
  TestClient a;
  TestClient b;
};

TEST(OwnHost, AFellowClientsRelayedAddressIsDeliveredInternally) {
  Harness h(public_relay());
  set_interfaces(h);
  Pair p(h);
  EXPECT_EQ(p.b.relayed->ip, kOwnV4);
  ASSERT_TRUE(p.a.channel_bind(0x4001, *p.b.relayed).is_success());
  ASSERT_TRUE(p.b.create_permission({*p.a.relayed}).is_success());
  const size_t before = h.outbox.client_packets.size();
  p.a.send_channel_data(0x4001, bytes_of("via channel"));
  p.a.send_indication(*p.b.relayed, bytes_of("via send"));
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  EXPECT_EQ(h.outbox.for_client(p.b.tuple, before).size(), 2U);
  EXPECT_EQ(own_denied(h), 0U);
}

TEST(OwnHost, AChannelToAFellowClientStopsWhenItsAllocationEnds) {
  Harness h(public_relay());
  set_interfaces(h);
  Pair p(h);
  const SocketAddress b_relayed = *p.b.relayed;
  ASSERT_TRUE(p.a.channel_bind(0x4001, b_relayed).is_success());
  ASSERT_TRUE(p.b.refresh(0).is_success());  // the port is free: whatever binds it next is not ours
  p.a.send_channel_data(0x4001, bytes_of("to nobody"));
  p.a.send_indication(b_relayed, bytes_of("to nobody"));
  EXPECT_TRUE(h.outbox.peer_packets.empty())
      << "relayed to " << h.outbox.peer_packets.front().peer.to_string();
  EXPECT_EQ(own_denied(h), 2U);
}

// Two workers of one daemon share the relay port range: a fellow client's relay may be another
// worker's. It is sent to its local address (the kernel delivers it), while it is live.
struct BothWorkers final : turn::RelayPortDirectory {
  [[nodiscard]] bool relay_port_live(Family family, uint16_t port) const noexcept override {
    return (one != nullptr && one->in_use(family, port)) ||
           (two != nullptr && two->in_use(family, port));
  }
  const FakeRelays* one = nullptr;
  const FakeRelays* two = nullptr;
};

TEST(OwnHost, AnotherWorkersLiveRelayIsReachedOnlyWhileItsAllocationLives) {
  BothWorkers live;
  HarnessOptions o = public_relay();
  o.relay_ports = &live;
  Harness w1(o);
  Harness w2(o);
  w2.relays.next_port = 51000;
  live.one = &w1.relays;
  live.two = &w2.relays;
  set_interfaces(w1);
  set_interfaces(w2);
  TestClient a(w1, udp_tuple("198.51.100.10:40000"));
  TestClient b(w2, udp_tuple("198.51.100.20:40000"));
  ASSERT_TRUE(a.allocate().is_success());
  ASSERT_TRUE(b.allocate().is_success());
  ASSERT_TRUE(a.channel_bind(0x4001, *b.relayed).is_success());
  a.send_channel_data(0x4001, bytes_of("to worker 2"));
  ASSERT_EQ(w1.outbox.peer_packets.size(), 1U);
  EXPECT_EQ(w1.outbox.peer_packets[0].peer, *b.relayed);
  // Worker 2 receives it from worker 1's relay socket (an own address, a live port): delivered.
  ASSERT_TRUE(b.create_permission({*a.relayed}).is_success());
  const size_t before = w2.outbox.client_packets.size();
  w2.from_peer(b.allocation_id(), *a.relayed, bytes_of("from worker 1"));
  EXPECT_EQ(w2.outbox.for_client(b.tuple, before).size(), 1U);
  ASSERT_TRUE(b.refresh(0).is_success());
  a.send_channel_data(0x4001, bytes_of("to nobody"));
  EXPECT_EQ(w1.outbox.peer_packets.size(), 1U);
  EXPECT_EQ(own_denied(w1), 1U);
}

// ---- datagrams from our own host's other ports

TEST(OwnHost, DatagramsFromOwnPortsNoAllocationHoldsAreDropped) {
  Harness h(public_relay());
  set_interfaces(h);
  Pair p(h);
  ASSERT_TRUE(p.a.create_permission({kDns, SocketAddress{kOtherOwnV4, 1}}).is_success());
  const size_t before = h.outbox.client_packets.size();
  h.from_peer(p.a.allocation_id(), kDns, bytes_of("from the DNS cache"));
  h.from_peer(p.a.allocation_id(), kUnheldRelayPort, bytes_of("from a port in the range"));
  h.from_peer(p.a.allocation_id(), SocketAddress{kOtherOwnV4, 5353}, bytes_of("other interface"));
  EXPECT_EQ(h.outbox.client_packets.size(), before);
  EXPECT_EQ(own_denied(h), 3U);
  // From B's relay socket (its local address: a live allocation's port): delivered.
  h.from_peer(p.a.allocation_id(), *p.b.relayed, bytes_of("from B"));
  EXPECT_EQ(h.outbox.client_packets.size(), before + 1);
}

// ---- every IPv4-in-IPv6 spelling of an own address

TEST(OwnHost, EverySpellingOfAnOwnAddressIsRefused) {
  // Everything allowed: only the own-host rule can refuse.
  Harness h(public_relay({*policy::Cidr::parse("0.0.0.0/0"), *policy::Cidr::parse("::/0")}));
  set_interfaces(h);
  TestClient c(h, udp_tuple("[2001:db8::10]:40000", "[2001:db8::1]:3478"));
  ASSERT_TRUE(c.allocate([](stun::MessageBuilder& b) {
                 b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
               }).is_success());
  const std::vector<const char*> spellings = {
      "[2a01:4f8::7]:5353",                            // the IPv6 relay address itself
      "[::ffff:93.184.216.7]:5353",                    // IPv4-mapped
      "[::93.184.216.7]:5353",                         // IPv4-compatible
      "[64:ff9b::5db8:d807]:5353",                     // NAT64 (RFC 6052)
      "[::ffff:0:5db8:d807]:5353",                     // SIIT (RFC 2765)
      "[2002:5db8:d807::1]:5353",                      // 6to4
      "[2001:0:5db8:d807::1]:5353",                    // Teredo, as the server
      "[2001:0:4136:e378:8000:63bf:a247:27f8]:5353"};  // Teredo, as the client (inverted)
  uint16_t channel = 0x4000;
  for (const char* text : spellings) {
    EXPECT_TRUE(c.channel_bind(channel++, address(text)).is_error(err::kForbidden)) << text;
    ASSERT_TRUE(c.create_permission({address(text)}).is_success()) << text;
    c.send_indication(address(text), bytes_of("spelled"));
  }
  EXPECT_TRUE(h.outbox.peer_packets.empty())
      << "relayed to " << h.outbox.peer_packets.front().peer.to_string();
  EXPECT_EQ(own_denied(h), 2 * spellings.size());
  EXPECT_TRUE(c.channel_bind(channel, address("[2606:4700::1111]:5353")).is_success());
}

// ---- cached verdicts follow changes

TEST(OwnHost, AChannelVerdictFollowsAChangeOfTheOwnAddresses) {
  Harness h(public_relay());
  set_interfaces(h);
  TestClient c(h, udp_tuple("198.51.100.10:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  const SocketAddress soon_ours = address("93.184.216.50:5353");
  ASSERT_TRUE(c.channel_bind(0x4000, soon_ours).is_success());
  c.send_channel_data(0x4000, bytes_of("still a peer"));
  ASSERT_EQ(h.outbox.peer_packets.size(), 1U);
  set_interfaces(h, {kOwnV4, soon_ours.ip});  // a floating IP moved onto this host
  c.send_channel_data(0x4000, bytes_of("now our own"));
  EXPECT_EQ(h.outbox.peer_packets.size(), 1U);
  EXPECT_EQ(own_denied(h), 1U);
  set_interfaces(h, {kOwnV4});  // and moved away again
  c.send_channel_data(0x4000, bytes_of("a peer again"));
  EXPECT_EQ(h.outbox.peer_packets.size(), 2U);
}

TEST(PeerVerdict, AChannelVerdictFollowsAPolicyReload) {
  Harness h;
  TestClient c(h, udp_tuple("198.51.100.10:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPublicPeer).is_success());
  c.send_channel_data(0x4000, bytes_of("allowed"));
  ASSERT_EQ(h.outbox.peer_packets.size(), 1U);
  // SIGHUP: the workers get a new filter that denies the peer (daemon.cpp hand_to_workers).
  h.filter = policy::PeerFilter({}, {*policy::Cidr::parse("93.184.216.0/24")});
  c.send_channel_data(0x4000, bytes_of("denied now"));
  EXPECT_EQ(h.outbox.peer_packets.size(), 1U);
  EXPECT_EQ(h.server.counters().get(kPeerDenied), 1U);
  h.filter = policy::PeerFilter();  // and allowed again
  c.send_channel_data(0x4000, bytes_of("allowed again"));
  EXPECT_EQ(h.outbox.peer_packets.size(), 2U);
}

// Loopback is not an own address (the built-in deny list refuses it; peers.allow opening it is a
// deliberate choice, used by the integration tests): documented in docs/security.md.
TEST(OwnHost, LoopbackIsLeftToThePeerFilter) {
  Harness h(public_relay({*policy::Cidr::parse("127.0.0.0/8")}));
  set_interfaces(h, {kOwnV4, IpAddress::v4(127, 0, 0, 1)});
  TestClient c(h, udp_tuple("198.51.100.10:40000"));
  ASSERT_TRUE(c.allocate().is_success());
  EXPECT_TRUE(c.channel_bind(0x4000, address("127.0.0.1:5353")).is_success());
  EXPECT_EQ(own_denied(h), 0U);
}

}  // namespace
}  // namespace turnpike::testing
