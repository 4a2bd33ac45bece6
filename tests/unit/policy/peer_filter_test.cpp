#include "turnpike/policy/peer_filter.h"

#include <gtest/gtest.h>

#include <string>

namespace turnpike::policy {
namespace {

IpAddress ip(std::string_view text) {
  const auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

Cidr cidr(std::string_view text) {
  const auto parsed = Cidr::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(Cidr{});
}

TEST(DefaultDenyList, IsTheDocumentedList) {
  std::vector<std::string> got;
  for (const Cidr& c : PeerFilter::default_deny_list()) got.push_back(c.to_string());
  // Security wave 2 added 168.63.129.16/32, ::ffff:0:0:0/96 and fec0::/10 (docs/security.md).
  const std::vector<std::string> want = {
      "0.0.0.0/8",          "10.0.0.0/8",     "100.64.0.0/10",  "127.0.0.0/8",
      "168.63.129.16/32",   "169.254.0.0/16", "172.16.0.0/12",  "192.0.0.0/24",
      "192.0.2.0/24",       "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
      "198.51.100.0/24",    "203.0.113.0/24", "224.0.0.0/4",    "240.0.0.0/4",
      "255.255.255.255/32", "::/128",         "::1/128",        "::ffff:0.0.0.0/96",
      "::ffff:0:0:0/96",    "64:ff9b::/96",   "64:ff9b:1::/48", "100::/64",
      "2001::/23",          "2001:db8::/32",  "2002::/16",      "fc00::/7",
      "fe80::/10",          "fec0::/10",      "ff00::/8"};
  EXPECT_EQ(got, want);
}

TEST(PeerFilter, FirstAddressOfEveryDefaultRangeDenied) {
  const PeerFilter filter;
  for (const Cidr& c : PeerFilter::default_deny_list()) {
    EXPECT_FALSE(filter.allows(c.network)) << c.to_string();
  }
}

TEST(PeerFilter, LastAddressOfSomeRangesDenied) {
  const PeerFilter filter;
  for (const char* text :
       {"10.255.255.255", "100.127.255.255", "172.31.255.255", "192.168.255.255", "198.19.255.255",
        "239.255.255.255", "255.255.255.254", "fdff:ffff::1", "febf::1", "ff02::1",
        "2001:1ff:ffff::1", "2001::1", "2002:c000:0204::1"}) {
    EXPECT_FALSE(filter.allows(ip(text))) << text;
  }
}

TEST(PeerFilter, NeighboursOfDeniedRangesAllowed) {
  const PeerFilter filter;
  for (const char* text :
       {"11.0.0.0", "100.128.0.0", "172.32.0.0", "192.169.0.0", "198.20.0.0", "223.255.255.255",
        "9.255.255.255", "2001:200::1", "2003::1", "fe00::1"}) {
    EXPECT_TRUE(filter.allows(ip(text))) << text;
  }
}

TEST(PeerFilter, PublicAddressesAllowed) {
  const PeerFilter filter;
  EXPECT_TRUE(filter.allows(ip("8.8.8.8")));
  EXPECT_TRUE(filter.allows(ip("1.1.1.1")));
  EXPECT_TRUE(filter.allows(ip("2606:4700::1111")));
  EXPECT_TRUE(filter.allows(ip("::ffff:8.8.8.8")));
  EXPECT_TRUE(filter.allows(ip("64:ff9b::808:808")));
}

TEST(PeerFilter, SsrfTargetsDenied) {
  const PeerFilter filter;
  for (const char* text :
       {"169.254.169.254", "127.0.0.1", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "64:ff9b::7f00:1",
        "::127.0.0.1", "::10.0.0.1", "::ffff:0.0.0.0", "::0.0.0.2"}) {
    EXPECT_FALSE(filter.allows(ip(text))) << text;
  }
}

TEST(PeerFilter, Canonical) {
  EXPECT_EQ(PeerFilter::canonical(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
  EXPECT_EQ(PeerFilter::canonical(ip("64:ff9b::a00:1")), ip("10.0.0.1"));
  EXPECT_EQ(PeerFilter::canonical(ip("::127.0.0.1")), ip("127.0.0.1"));
  EXPECT_EQ(PeerFilter::canonical(ip("::")), ip("::"));
  EXPECT_EQ(PeerFilter::canonical(ip("::1")), ip("::1"));
  EXPECT_EQ(PeerFilter::canonical(ip("::2")), ip("0.0.0.2"));
  EXPECT_EQ(PeerFilter::canonical(ip("1.2.3.4")), ip("1.2.3.4"));
  EXPECT_EQ(PeerFilter::canonical(ip("2606:4700::1111")), ip("2606:4700::1111"));
  EXPECT_EQ(PeerFilter::canonical(ip("64:ff9b:1::a00:1")), ip("64:ff9b:1::a00:1"));
  EXPECT_EQ(PeerFilter::canonical(ip("::fffe:1.2.3.4")), ip("::fffe:1.2.3.4"));
  EXPECT_EQ(PeerFilter::canonical(ip("1::ffff:1.2.3.4")), ip("1::ffff:1.2.3.4"));
}

TEST(PeerFilter, AllowOverridesDeny) {
  const PeerFilter filter({cidr("127.0.0.0/8")}, {});
  EXPECT_TRUE(filter.allows(ip("127.0.0.1")));
  EXPECT_TRUE(filter.allows(ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(filter.allows(ip("10.0.0.1")));
  EXPECT_FALSE(filter.allows(ip("::1")));
}

TEST(PeerFilter, ExtraDeny) {
  const PeerFilter filter({}, {cidr("8.8.8.0/24"), cidr("2606:4700::/32")});
  EXPECT_FALSE(filter.allows(ip("8.8.8.8")));
  EXPECT_FALSE(filter.allows(ip("::ffff:8.8.8.8")));
  EXPECT_FALSE(filter.allows(ip("2606:4700::1111")));
  EXPECT_TRUE(filter.allows(ip("8.8.4.4")));
  EXPECT_FALSE(filter.allows(ip("10.0.0.1")));  // defaults still apply
}

TEST(PeerFilter, UnspecifiedDeniedEvenWhenEverythingAllowed) {
  const PeerFilter filter({cidr("0.0.0.0/0"), cidr("::/0")}, {});
  EXPECT_FALSE(filter.allows(ip("0.0.0.0")));
  EXPECT_FALSE(filter.allows(ip("::")));
  EXPECT_FALSE(filter.allows(ip("::ffff:0.0.0.0")));
  EXPECT_FALSE(filter.allows(ip("64:ff9b::")));
  EXPECT_TRUE(filter.allows(ip("127.0.0.1")));
  EXPECT_TRUE(filter.allows(ip("::1")));
}

TEST(Cidr, ParseValid) {
  const Cidr c = cidr("10.0.0.0/8");
  EXPECT_EQ(c.network, ip("10.0.0.0"));
  EXPECT_EQ(c.prefix, 8);
  EXPECT_EQ(cidr("1.2.3.4").prefix, 32);
  EXPECT_EQ(cidr("::1").prefix, 128);
  EXPECT_EQ(cidr("0.0.0.0/0").prefix, 0);
  EXPECT_EQ(cidr("::/0").prefix, 0);
  EXPECT_EQ(cidr("fe80::/10").to_string(), "fe80::/10");
  EXPECT_EQ(cidr("1.2.3.4/32").to_string(), "1.2.3.4/32");
  EXPECT_EQ(cidr("2001:db8::/032").prefix, 32);
}

TEST(Cidr, ParseErrors) {
  for (const char* text : {"",
                           "/",
                           "/8",
                           "10.0.0.0/",
                           "10.0.0.0/33",
                           "::/129",
                           "10.0.0.1/8",
                           "10.0.0.0/-8",
                           "10.0.0.0/+8",
                           "10.0.0.0/8 ",
                           " 10.0.0.0/8",
                           "10.0.0.0/8/8",
                           "10.0.0.0/8x",
                           "10.0.0/8",
                           "10.0.0.0.0/8",
                           "256.0.0.0/8",
                           "fe80::1/10",
                           "fe80::%eth0/64",
                           "example.com/8",
                           "10.0.0.0/0008",
                           "10.0.0.0/99999999999",
                           "::1/127",
                           "1.2.3.4/a"}) {
    EXPECT_FALSE(Cidr::parse(text).has_value()) << '"' << text << '"';
  }
  EXPECT_FALSE(Cidr::parse(std::string_view("1.2.3.4\0junk", 12)).has_value());
  EXPECT_FALSE(Cidr::parse(std::string(1000, '1')).has_value());
}

TEST(Cidr, Contains) {
  const Cidr c = cidr("172.16.0.0/12");
  EXPECT_TRUE(c.contains(ip("172.16.0.0")));
  EXPECT_TRUE(c.contains(ip("172.31.255.255")));
  EXPECT_FALSE(c.contains(ip("172.32.0.0")));
  EXPECT_FALSE(c.contains(ip("172.15.255.255")));
  EXPECT_FALSE(c.contains(ip("::ffff:172.16.0.1")));  // families must match
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));
  EXPECT_TRUE(cidr("fc00::/7").contains(ip("fdff::1")));
  EXPECT_FALSE(cidr("fc00::/7").contains(ip("fe00::1")));
  EXPECT_TRUE(cidr("::1").contains(ip("::1")));
  EXPECT_FALSE(cidr("::1").contains(ip("::2")));
}

}  // namespace
}  // namespace turnpike::policy
