// policy::PeerFilter, security wave 2 (issue 13): deny-list gaps (site-local fec0::/10, SIIT
// ::ffff:0:0:0/96, the Azure wire server), NAT64 judged as the IPv4 address it carries, the
// filter's generation (cached verdicts follow reloads) and the IPv4 forms an IPv6 address stands
// for (the server's own-address rule).
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "turnpike/policy/peer_filter.h"

namespace turnpike::policy {
namespace {

IpAddress ip(std::string_view text) {
  const auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

TEST(PeerFilterGaps, NewDefaultDenyEntries) {
  const PeerFilter filter;
  for (const char* text : {"168.63.129.16",            // Azure wire server (metadata, DHCP, DNS)
                           "::ffff:168.63.129.16",     // ... IPv4-mapped
                           "64:ff9b::a83f:8110",       // ... through NAT64
                           "fec0::1", "feff:ffff::1",  // site-local (deprecated, RFC 3879)
                           "::ffff:0:0:0", "::ffff:0:808:808",  // SIIT IPv4-translated (RFC 2765)
                           "::ffff:0:ffff:ffff"}) {
    EXPECT_FALSE(filter.allows(ip(text))) << text;
  }
  for (const char* text : {"168.63.129.15", "168.63.129.17", "fe00::1", "::fffe:0:808:808"}) {
    EXPECT_TRUE(filter.allows(ip(text))) << text;
  }
}

TEST(PeerFilterGaps, Nat64IsJudgedAsTheEmbeddedIpv4Address) {
  // Allowing the NAT64 prefix does not allow what it carries: the IPv4 address is judged.
  const PeerFilter allow_nat64({*Cidr::parse("64:ff9b::/96")}, {});
  EXPECT_FALSE(allow_nat64.allows(ip("64:ff9b::7f00:1")));     // 127.0.0.1
  EXPECT_FALSE(allow_nat64.allows(ip("64:ff9b::a83f:8110")));  // 168.63.129.16
  EXPECT_TRUE(allow_nat64.allows(ip("64:ff9b::808:808")));     // 8.8.8.8
  // Denying an IPv4 range denies its NAT64 spelling.
  const PeerFilter deny_v4({}, {*Cidr::parse("8.8.8.0/24")});
  EXPECT_FALSE(deny_v4.allows(ip("64:ff9b::808:808")));
}

TEST(PeerFilterGaps, GenerationChangesWithEveryNewFilterAndSurvivesCopies) {
  const PeerFilter a;
  const PeerFilter b;
  EXPECT_NE(a.generation(), 0U);
  EXPECT_NE(a.generation(), b.generation());
  PeerFilter copy = a;
  EXPECT_EQ(copy.generation(), a.generation());
  copy = PeerFilter({*Cidr::parse("10.0.0.0/8")}, {});
  EXPECT_NE(copy.generation(), a.generation());
  EXPECT_NE(copy.generation(), b.generation());
}

std::vector<std::string> forms(std::string_view text) {
  std::array<IpAddress, 3> out{};
  const size_t n = PeerFilter::ipv4_forms(ip(text), out);
  std::vector<std::string> got;
  for (size_t i = 0; i < n; ++i) got.push_back(out[i].to_string());
  return got;
}

TEST(PeerFilterGaps, Ipv4FormsOfEverySpelling) {
  using V = std::vector<std::string>;
  EXPECT_EQ(forms("93.184.216.7"), V{"93.184.216.7"});
  EXPECT_EQ(forms("::ffff:93.184.216.7"), V{"93.184.216.7"});
  EXPECT_EQ(forms("::93.184.216.7"), V{"93.184.216.7"});
  EXPECT_EQ(forms("64:ff9b::5db8:d807"), V{"93.184.216.7"});
  EXPECT_EQ(forms("::ffff:0:5db8:d807"), V{"93.184.216.7"});
  EXPECT_EQ(forms("2002:5db8:d807::1"), V{"93.184.216.7"});
  EXPECT_EQ(forms("2001:0:5db8:d807:8000:63bf:a247:27f8"), (V{"93.184.216.7", "93.184.216.7"}));
  EXPECT_EQ(forms("2001:0:4136:e378:8000:63bf:a247:27f8"), (V{"65.54.227.120", "93.184.216.7"}));
  EXPECT_EQ(forms("2606:4700::1111"), V{});
  EXPECT_EQ(forms("::1"), V{});
  EXPECT_EQ(forms("2001:db8::1"), V{});  // 2001:db8::/32 is not Teredo (2001:0::/32)
}

}  // namespace
}  // namespace turnpike::policy
