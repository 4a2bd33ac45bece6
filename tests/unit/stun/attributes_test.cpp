// Typed attribute decoders (RFC 8489 §14, RFC 8656 §18): accepted forms and rejected ones.
#include <gtest/gtest.h>

#include <vector>

#include "turnpike/stun/attributes.h"

namespace turnpike::stun {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kTid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                              0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

TEST(Attributes, XorAddressIpv4) {
  const Bytes v = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
  const auto a = decode_xor_address(v, kTid);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.0.2.1:32853");
}

TEST(Attributes, XorAddressRejectsBadForms) {
  const Bytes v4 = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
  Bytes v = v4;
  v.push_back(0);  // 9 bytes
  EXPECT_EQ(decode_xor_address(v, kTid).error(), ParseError::kBadAttributeValue);
  v = v4;
  v.pop_back();  // 7 bytes
  EXPECT_EQ(decode_xor_address(v, kTid).error(), ParseError::kBadAttributeValue);
  v = v4;
  v[1] = 0x02;  // IPv6 family with an IPv4-sized value
  EXPECT_EQ(decode_xor_address(v, kTid).error(), ParseError::kBadAttributeValue);
  v[1] = 0x03;
  EXPECT_EQ(decode_xor_address(v, kTid).error(), ParseError::kBadAttributeValue);
  v[1] = 0x00;
  EXPECT_EQ(decode_xor_address(v, kTid).error(), ParseError::kBadAttributeValue);
  Bytes v6(20, 0);
  v6[1] = 0x01;  // IPv4 family with an IPv6-sized value
  EXPECT_EQ(decode_xor_address(v6, kTid).error(), ParseError::kBadAttributeValue);
  v6[1] = 0x02;
  EXPECT_TRUE(decode_xor_address(v6, kTid));
  EXPECT_EQ(decode_xor_address(v6, ByteView(kTid).first(11)).error(),
            ParseError::kBadAttributeValue);
  EXPECT_EQ(decode_xor_address({}, kTid).error(), ParseError::kBadAttributeValue);
}

TEST(Attributes, PlainAddress) {
  const Bytes v = {0x00, 0x01, 0x0d, 0x96, 192, 0, 2, 7};
  const auto a = decode_address(v);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.0.2.7:3478");
  Bytes v6(20, 0);
  v6[1] = 0x02;
  v6[3] = 80;
  v6[19] = 1;
  EXPECT_EQ(decode_address(v6)->to_string(), "[::1]:80");
  v6.resize(16);
  EXPECT_FALSE(decode_address(v6));
}

TEST(Attributes, ErrorCode) {
  Bytes v = {0x00, 0x00, 0x04, 0x01};
  const std::string_view reason = "Unauthorized";
  v.insert(v.end(), reason.begin(), reason.end());
  auto e = decode_error_code(v);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 401);
  EXPECT_EQ(e->reason, "Unauthorized");

  // The 21 reserved bits are ignored.
  v[0] = 0xFF;
  v[1] = 0xFF;
  v[2] = 0xF8 | 0x05;
  v[3] = 8;
  e = decode_error_code(v);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 508);

  EXPECT_EQ(decode_error_code(Bytes{0, 0, 3, 0})->code, 300);
  EXPECT_EQ(decode_error_code(Bytes{0, 0, 6, 99})->code, 699);
  EXPECT_TRUE(decode_error_code(Bytes{0, 0, 6, 99})->reason.empty());
  EXPECT_FALSE(decode_error_code(Bytes{0, 0, 2, 0}));    // class 2
  EXPECT_FALSE(decode_error_code(Bytes{0, 0, 7, 0}));    // class 7
  EXPECT_FALSE(decode_error_code(Bytes{0, 0, 4, 100}));  // number 100
  EXPECT_FALSE(decode_error_code(Bytes{0, 0, 4}));       // too short
  EXPECT_FALSE(decode_error_code({}));
}

TEST(Attributes, ErrorCodeReasonMustBeUtf8) {
  const Bytes ok = {0, 0, 4, 0, 0xe3, 0x83, 0x9e, 'x', 0xf0, 0x9f, 0x98, 0x80};
  EXPECT_TRUE(decode_error_code(ok));
  for (const Bytes& bad : {Bytes{0, 0, 4, 0, 0xff}, Bytes{0, 0, 4, 0, 0xc3},  // invalid, cut
                           Bytes{0, 0, 4, 0, 0xc0, 0x80},                     // overlong
                           Bytes{0, 0, 4, 0, 0xed, 0xa0, 0x80},               // surrogate
                           Bytes{0, 0, 4, 0, 0xf4, 0x90, 0x80, 0x80},         // > U+10FFFF
                           Bytes{0, 0, 4, 0, 0xe3, 0x83, 0x41}}) {            // bad continuation
    EXPECT_FALSE(decode_error_code(bad)) << static_cast<int>(bad[4]);
  }
  Bytes long_reason = {0, 0, 4, 0};
  long_reason.resize(4 + 763, 'a');
  EXPECT_TRUE(decode_error_code(long_reason));
  long_reason.push_back('a');
  EXPECT_FALSE(decode_error_code(long_reason));
}

TEST(Attributes, FixedSizeValues) {
  EXPECT_EQ(*decode_u32(Bytes{0x00, 0x00, 0x02, 0x58}), 600u);
  EXPECT_EQ(*decode_u32(Bytes{0xff, 0xff, 0xff, 0xff}), 0xffffffffu);
  EXPECT_FALSE(decode_u32(Bytes{0, 0, 0}));
  EXPECT_FALSE(decode_u32(Bytes{0, 0, 0, 0, 0}));

  EXPECT_EQ(*decode_channel_number(Bytes{0x40, 0x01, 0x00, 0x00}), 0x4001);
  EXPECT_EQ(*decode_channel_number(Bytes{0x12, 0x34, 0xff, 0xff}), 0x1234);  // range: caller's
  EXPECT_FALSE(decode_channel_number(Bytes{0x40, 0x01}));

  EXPECT_EQ(*decode_requested_transport(Bytes{17, 0, 0, 0}), 17);
  EXPECT_EQ(*decode_requested_transport(Bytes{6, 0, 0, 0}), 6);
  EXPECT_FALSE(decode_requested_transport(Bytes{17}));
  EXPECT_FALSE(decode_requested_transport(Bytes{17, 0, 0, 0, 0, 0, 0, 0}));

  EXPECT_EQ(*decode_address_family(Bytes{1, 0, 0, 0}), Family::kIPv4);
  EXPECT_EQ(*decode_address_family(Bytes{2, 0, 0, 0}), Family::kIPv6);
  EXPECT_FALSE(decode_address_family(Bytes{3, 0, 0, 0}));
  EXPECT_FALSE(decode_address_family(Bytes{0, 0, 0, 0}));
  EXPECT_FALSE(decode_address_family(Bytes{1, 0}));
}

TEST(Attributes, PasswordAlgorithm) {
  EXPECT_EQ(*decode_password_algorithm(Bytes{0, 1, 0, 0}), PasswordAlgorithm::kMd5);
  EXPECT_EQ(*decode_password_algorithm(Bytes{0, 2, 0, 0}), PasswordAlgorithm::kSha256);
  // Parameters, with and without their padding.
  EXPECT_TRUE(decode_password_algorithm(Bytes{0, 2, 0, 3, 9, 9, 9}));
  EXPECT_TRUE(decode_password_algorithm(Bytes{0, 2, 0, 3, 9, 9, 9, 0}));
  EXPECT_FALSE(decode_password_algorithm(Bytes{0, 2, 0, 3, 9, 9}));        // short params
  EXPECT_FALSE(decode_password_algorithm(Bytes{0, 2, 0, 0, 9, 9, 9, 9}));  // extra bytes
  EXPECT_FALSE(decode_password_algorithm(Bytes{0, 3, 0, 0}));              // unknown
  EXPECT_FALSE(decode_password_algorithm(Bytes{0, 0, 0, 0}));              // reserved
  EXPECT_FALSE(decode_password_algorithm(Bytes{0, 1, 0}));
  EXPECT_FALSE(decode_password_algorithm(Bytes{0, 1, 0xff, 0xff}));
}

}  // namespace
}  // namespace turnpike::stun
