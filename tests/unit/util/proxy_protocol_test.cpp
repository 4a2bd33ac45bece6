#include "turnpike/util/proxy_protocol.h"

#include <gtest/gtest.h>

#include <vector>

namespace turnpike {
namespace {

std::vector<uint8_t> header(uint8_t ver_cmd, uint8_t fam, const std::vector<uint8_t>& body) {
  static constexpr uint8_t kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                             0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  std::vector<uint8_t> h(16 + body.size(), 0);
  for (size_t i = 0; i < 12; ++i) h[i] = kSignature[i];
  h[12] = ver_cmd;
  h[13] = fam;
  h[14] = static_cast<uint8_t>(body.size() >> 8);
  h[15] = static_cast<uint8_t>(body.size());
  for (size_t i = 0; i < body.size(); ++i) h[16 + i] = body[i];
  return h;
}

TEST(ProxyProtocolV2, Ipv4ProxyCommandGivesTheClientAddress) {
  // 203.0.113.7:51000 -> 192.0.2.1:443, plus a TLV (ignored) and the client's first bytes.
  auto h = header(0x21, 0x11,
                  {203, 0, 113, 7, 192, 0, 2, 1, 0xC7, 0x38, 0x01, 0xBB, 0x04, 0x00, 0x01, 0x00});
  const size_t header_size = h.size();
  h.push_back(0x16);  // TLS ClientHello starts here
  ProxyHeader out;
  ASSERT_EQ(parse_proxy_v2(h, out), ProxyParse::kDone);
  EXPECT_EQ(out.length, header_size);
  ASSERT_TRUE(out.source);
  EXPECT_EQ(out.source->to_string(), "203.0.113.7:51000");
}

TEST(ProxyProtocolV2, Ipv6AndLocal) {
  std::vector<uint8_t> body(36, 0);
  body[0] = 0x20;
  body[1] = 0x01;
  body[2] = 0x0d;
  body[3] = 0xb8;
  body[15] = 0x05;
  body[32] = 0x12;
  body[33] = 0x34;
  ProxyHeader out;
  ASSERT_EQ(parse_proxy_v2(header(0x21, 0x21, body), out), ProxyParse::kDone);
  ASSERT_TRUE(out.source);
  EXPECT_EQ(out.source->to_string(), "[2001:db8::5]:4660");
  ASSERT_EQ(parse_proxy_v2(header(0x20, 0x00, {}), out), ProxyParse::kDone);  // LOCAL
  EXPECT_FALSE(out.source);
  EXPECT_EQ(out.length, 16U);
}

TEST(ProxyProtocolV2, PartialThenInvalid) {
  const auto h = header(0x21, 0x11, {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2});
  ProxyHeader out;
  for (size_t n = 0; n < h.size(); ++n) {
    EXPECT_EQ(parse_proxy_v2(ByteView(h).first(n), out), ProxyParse::kNeedMore) << n;
  }
  const std::vector<uint8_t> tls_hello = {0x16, 0x03, 0x01, 0x00, 0x10};
  EXPECT_EQ(parse_proxy_v2(tls_hello, out), ProxyParse::kInvalid);
  const std::string v1 = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
  EXPECT_EQ(parse_proxy_v2(as_bytes(v1), out), ProxyParse::kInvalid);
  EXPECT_EQ(parse_proxy(as_bytes(v1), out), ProxyParse::kDone);  // but v1 is accepted too
  EXPECT_EQ(parse_proxy_v2(header(0x11, 0x11, {}), out), ProxyParse::kInvalid);  // version 1
  EXPECT_EQ(parse_proxy_v2(header(0x22, 0x11, {}), out), ProxyParse::kInvalid);  // command 2
  std::vector<uint8_t> huge = header(0x21, 0x11, {});
  huge[14] = 0xFF;  // declares 65 KB of addresses/TLVs
  EXPECT_EQ(parse_proxy_v2(huge, out), ProxyParse::kInvalid);
}

TEST(ProxyProtocolV1, NginxStyleLines) {
  ProxyHeader out;
  const std::string line = "PROXY TCP4 198.51.100.22 192.0.2.1 35646 443\r\n";
  const std::string with_data = line + "\x16\x03\x01";
  ASSERT_EQ(parse_proxy(as_bytes(with_data), out), ProxyParse::kDone);
  EXPECT_EQ(out.length, line.size());
  ASSERT_TRUE(out.source);
  EXPECT_EQ(out.source->to_string(), "198.51.100.22:35646");
  ASSERT_EQ(parse_proxy(as_bytes("PROXY TCP6 2001:db8::7 2001:db8::1 4000 443\r\n"), out),
            ProxyParse::kDone);
  EXPECT_EQ(out.source->to_string(), "[2001:db8::7]:4000");
  ASSERT_EQ(parse_proxy(as_bytes("PROXY UNKNOWN\r\n"), out), ProxyParse::kDone);
  EXPECT_FALSE(out.source);
  for (size_t n = 0; n < line.size(); ++n) {
    EXPECT_EQ(parse_proxy(as_bytes(line.substr(0, n)), out), ProxyParse::kNeedMore) << n;
  }
  for (const char* bad : {"PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n", "PROXY TCP4 ::1 ::1 1 2\r\n",
                          "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
                          "PROXY TCP4 a b c d\r\n", "GET / HTTP/1.1\r\n"}) {
    EXPECT_EQ(parse_proxy(as_bytes(bad), out), ProxyParse::kInvalid) << bad;
  }
  EXPECT_EQ(parse_proxy(as_bytes("PROXY " + std::string(120, 'x')), out), ProxyParse::kInvalid);
}

}  // namespace
}  // namespace turnpike
