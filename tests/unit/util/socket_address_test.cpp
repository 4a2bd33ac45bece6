#include "turnpike/util/socket_address.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <unordered_set>

namespace turnpike {
namespace {

TEST(SocketAddress, ParseIpv4) {
  const auto a = SocketAddress::parse("192.0.2.1:3478");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family(), Family::kIPv4);
  EXPECT_EQ(a->port, 3478);
  EXPECT_EQ(a->ip, IpAddress::v4(192, 0, 2, 1));
  EXPECT_EQ(a->ip.size(), 4u);
  EXPECT_EQ(a->to_string(), "192.0.2.1:3478");
  // IPv4 leaves the rest of the 16 bytes zero, so equality and hashing are well defined.
  for (size_t i = 4; i < 16; ++i) EXPECT_EQ(a->ip.bytes[i], 0) << i;
}

TEST(SocketAddress, ParseIpv6) {
  const auto a = SocketAddress::parse("[::1]:3478");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family(), Family::kIPv6);
  EXPECT_EQ(a->port, 3478);
  EXPECT_EQ(a->ip.size(), 16u);
  EXPECT_EQ(a->ip.bytes[15], 1);
  EXPECT_EQ(a->to_string(), "[::1]:3478");

  const auto b = SocketAddress::parse("[2001:DB8:1234:5678:11:2233:4455:6677]:65535");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 65535);
  EXPECT_EQ(b->ip.bytes[0], 0x20);
  EXPECT_EQ(b->ip.bytes[1], 0x01);
  EXPECT_EQ(b->ip.bytes[15], 0x77);
  EXPECT_EQ(b->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:65535");  // canonical form

  EXPECT_EQ(SocketAddress::parse("[::]:0")->to_string(), "[::]:0");
  EXPECT_EQ(SocketAddress::parse("[::ffff:192.0.2.1]:1")->to_string(), "[::ffff:192.0.2.1]:1");
}

TEST(SocketAddress, RoundTripThroughText) {
  for (const char* text : {"0.0.0.0:0", "255.255.255.255:65535", "10.1.2.3:80", "[::]:1",
                           "[fe80::1]:5349", "[2001:db8::]:3478"}) {
    const auto a = SocketAddress::parse(text);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(a->to_string(), text);
    EXPECT_EQ(SocketAddress::parse(a->to_string()), a);
  }
}

TEST(SocketAddress, RejectsInvalid) {
  for (const char* text : {"",
                           ":",
                           "1.2.3.4",
                           "1.2.3.4:",
                           "1.2.3.4:65536",
                           "1.2.3.4:-1",
                           "1.2.3.4:+1",
                           "1.2.3.4:12a",
                           "1.2.3.4: 80",
                           "1.2.3:80",
                           "256.1.1.1:80",
                           "1.2.3.4.5:80",
                           "localhost:80",
                           "[::1]",
                           "[::1]3478",
                           "[::1]:",
                           "[::1",
                           "::1]:80",
                           "[::1]:99999",
                           "[1:2:3:4:5:6:7:8:9]:80",
                           "[::g]:80",
                           ":80",
                           "1.2.3.4:80:80"}) {
    EXPECT_FALSE(SocketAddress::parse(text)) << text;
  }
  // Longer than any address: must not overflow the parser's buffer.
  EXPECT_FALSE(SocketAddress::parse(std::string(200, '1') + ":80"));
  EXPECT_FALSE(IpAddress::parse(std::string(46, '1')));
  // An embedded NUL must not truncate the text inet_pton sees.
  EXPECT_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0junk", 12)));
  EXPECT_FALSE(SocketAddress::parse(std::string_view("1.2.3.4\0x:80", 12)));
}

TEST(IpAddress, ParseAndUnspecified) {
  EXPECT_EQ(IpAddress::parse("192.0.2.1"), IpAddress::v4(192, 0, 2, 1));
  EXPECT_EQ(IpAddress::parse("::1")->family, Family::kIPv6);
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse("[::1]"));
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(IpAddress::parse("::")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("::1")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("0.0.0.1")->is_unspecified());
  EXPECT_NE(IpAddress::parse("0.0.0.0"), IpAddress::parse("::"));  // family differs
  EXPECT_EQ(IpAddress::v4(1, 2, 3, 4).to_string(), "1.2.3.4");
}

TEST(SocketAddress, SockaddrRoundTripIpv4) {
  const auto a = *SocketAddress::parse("198.51.100.7:5349");
  sockaddr_storage storage;
  ASSERT_EQ(a.to_sockaddr(storage), sizeof(sockaddr_in));
  sockaddr_in sin;
  std::memcpy(&sin, &storage, sizeof sin);
  EXPECT_EQ(sin.sin_family, AF_INET);
  EXPECT_EQ(ntohs(sin.sin_port), 5349);
  EXPECT_EQ(ntohl(sin.sin_addr.s_addr), 0xC6336407u);
  const auto back = SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
  EXPECT_EQ(back, a);
}

TEST(SocketAddress, SockaddrRoundTripIpv6) {
  const auto a = *SocketAddress::parse("[2001:db8::42]:3478");
  sockaddr_storage storage;
  ASSERT_EQ(a.to_sockaddr(storage), sizeof(sockaddr_in6));
  sockaddr_in6 sin6;
  std::memcpy(&sin6, &storage, sizeof sin6);
  EXPECT_EQ(sin6.sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(sin6.sin6_port), 3478);
  EXPECT_EQ(sin6.sin6_addr.s6_addr[0], 0x20);
  EXPECT_EQ(sin6.sin6_addr.s6_addr[15], 0x42);
  const auto back = SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
  EXPECT_EQ(back, a);
}

TEST(SocketAddress, FromSockaddrRejectsOthers) {
  EXPECT_FALSE(SocketAddress::from_sockaddr(nullptr));
  sockaddr_storage storage{};
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(&storage, &sun, sizeof sun);
  EXPECT_FALSE(SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage)));
}

TEST(SocketAddress, HashingAndEquality) {
  const auto a = *SocketAddress::parse("192.0.2.1:1");
  const auto b = *SocketAddress::parse("192.0.2.1:2");
  EXPECT_NE(a, b);
  EXPECT_EQ(std::hash<SocketAddress>{}(a),
            std::hash<SocketAddress>{}(*SocketAddress::parse("192.0.2.1:1")));
  std::unordered_set<SocketAddress> set{a, b, a};
  EXPECT_EQ(set.size(), 2u);

  FiveTuple t1{a, b, Transport::kUdp, 0};
  FiveTuple t2 = t1;
  EXPECT_EQ(t1, t2);
  EXPECT_EQ(std::hash<FiveTuple>{}(t1), std::hash<FiveTuple>{}(t2));
  t2.transport = Transport::kTcp;
  EXPECT_NE(t1, t2);
  t2 = t1;
  t2.connection_id = 7;
  EXPECT_NE(t1, t2);
  std::unordered_set<FiveTuple> tuples{t1, t2};
  EXPECT_EQ(tuples.size(), 2u);
}

TEST(SocketAddress, TransportNames) {
  EXPECT_STREQ(transport_name(Transport::kUdp), "udp");
  EXPECT_STREQ(transport_name(Transport::kTcp), "tcp");
  EXPECT_STREQ(transport_name(Transport::kTls), "tls");
}

}  // namespace
}  // namespace turnpike
