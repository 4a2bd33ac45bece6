// RFC 5769 test vectors: parse, decode, verify MESSAGE-INTEGRITY and FINGERPRINT, and rebuild each
// message byte for byte with MessageBuilder.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "turnpike/stun/attributes.h"
#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"
#include "turnpike/util/crypto.h"
#include "unit/stun/rfc5769_vectors.h"

namespace turnpike::stun {
namespace {

using namespace testing;  // NOLINT: the vectors

std::vector<uint8_t> to_vector(ByteView b) { return {b.begin(), b.end()}; }

crypto::Md5Digest long_term_key() {
  std::string input;
  input.append(kLongTermUsername).append(":").append(kLongTermRealm).append(":");
  input.append(kLongTermPassword);
  return crypto::md5(as_bytes(input));
}

std::string_view string_attr(const MessageView& m, uint16_t type) {
  const auto v = m.find(type);
  return v ? as_string_view(*v) : std::string_view("<absent>");
}

TEST(Rfc5769, SampleRequestParsesAndVerifies) {
  const auto parsed = MessageView::parse(kSampleRequest);
  ASSERT_TRUE(parsed) << to_string(parsed.error());
  const MessageView& m = *parsed;
  EXPECT_EQ(m.method(), Method::kBinding);
  EXPECT_EQ(m.message_class(), Class::kRequest);
  EXPECT_EQ(to_vector(m.transaction_id()),
            (std::vector<uint8_t>{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf,
                                  0xae}));
  EXPECT_TRUE(m.has_fingerprint());
  ASSERT_EQ(m.attributes().size(), 6u);
  EXPECT_EQ(string_attr(m, attr::kSoftware), "STUN test client");
  EXPECT_EQ(string_attr(m, attr::kUsername), "evtj:h6vY");  // padding (spaces) not included
  const auto priority = m.find(0x0024);
  ASSERT_TRUE(priority);
  EXPECT_EQ(*decode_u32(*priority), 0x6e0001ffu);
  EXPECT_EQ(m.find(0x8029)->size(), 8u);
  EXPECT_EQ(m.integrity_offset(), std::optional<uint16_t>(20 + 20 + 8 + 12 + 16));
  EXPECT_FALSE(m.integrity_sha256_offset());

  EXPECT_EQ(verify_message_integrity(m, as_bytes(kShortTermPassword)), IntegrityStatus::kOk);
  EXPECT_EQ(verify_message_integrity(m, as_bytes("VOkJxbRl1RmTxUk/WvJxBT")), IntegrityStatus::kBad);
  EXPECT_EQ(verify_message_integrity_sha256(m, as_bytes(kShortTermPassword)),
            IntegrityStatus::kNoIntegrity);

  // PRIORITY (0x0024) is comprehension-required and not ours; ICE-CONTROLLED is optional.
  uint16_t unknown[4] = {};
  ASSERT_EQ(m.unknown_required_attributes(unknown), 1u);
  EXPECT_EQ(unknown[0], 0x0024);
}

TEST(Rfc5769, SampleRequestFingerprintValue) {
  // The CRC of everything before FINGERPRINT, XOR 0x5354554E, is the value printed in the RFC.
  EXPECT_EQ(fingerprint_of(ByteView(kSampleRequest).first(kSampleRequest.size() - 8)), 0xe57a3bcfu);
  EXPECT_EQ(fingerprint_of(ByteView(kIpv4Response).first(kIpv4Response.size() - 8)), 0xc07d4c96u);
  EXPECT_EQ(fingerprint_of(ByteView(kIpv6Response).first(kIpv6Response.size() - 8)), 0xc8fb0b4cu);
}

TEST(Rfc5769, SampleRequestAnyFlippedByteIsRejected) {
  for (size_t i = 0; i < kSampleRequest.size(); ++i) {
    auto copy = kSampleRequest;
    copy[i] ^= 0x01;
    const auto parsed = MessageView::parse(copy);
    // The only damage that still parses is to FINGERPRINT's own type, which turns it into an
    // unknown optional attribute: then the message simply has no fingerprint.
    if (parsed) {
      EXPECT_TRUE(i >= copy.size() - 8 && i < copy.size() - 6 && !parsed->has_fingerprint())
          << "byte " << i << " flipped but the message still parses";
    }
  }
  // Flip a byte and fix the FINGERPRINT: now MESSAGE-INTEGRITY must catch it.
  auto copy = kSampleRequest;
  copy[30] ^= 0x20;  // inside SOFTWARE
  store_be32(copy.data() + copy.size() - 4, fingerprint_of(ByteView(copy).first(copy.size() - 8)));
  const auto parsed = MessageView::parse(copy);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(verify_message_integrity(*parsed, as_bytes(kShortTermPassword)), IntegrityStatus::kBad);
}

TEST(Rfc5769, SampleRequestRebuiltByteForByte) {
  std::vector<uint8_t> buf;
  MessageBuilder b(buf, make_type(Method::kBinding, Class::kRequest),
                   ByteView(kSampleRequest).subspan(8, 12));
  b.add_string(attr::kSoftware, "STUN test client");
  b.add_u32(0x0024, 0x6e0001ff);
  const uint8_t tie_breaker[] = {0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36};
  b.add(0x8029, tie_breaker);
  b.add_string(attr::kUsername, "evtj:h6vY");
  // The RFC pads USERNAME with spaces; the buffer is ours, so match it before signing.
  ASSERT_EQ(buf.size(), 76u);
  buf[73] = buf[74] = buf[75] = 0x20;
  b.add_message_integrity(as_bytes(kShortTermPassword));
  b.add_fingerprint();
  EXPECT_EQ(buf, to_vector(kSampleRequest));
}

TEST(Rfc5769, Ipv4Response) {
  const auto parsed = MessageView::parse(kIpv4Response);
  ASSERT_TRUE(parsed) << to_string(parsed.error());
  const MessageView& m = *parsed;
  EXPECT_EQ(m.method(), Method::kBinding);
  EXPECT_EQ(m.message_class(), Class::kSuccess);
  EXPECT_EQ(string_attr(m, attr::kSoftware), "test vector");
  const auto xma = m.find(attr::kXorMappedAddress);
  ASSERT_TRUE(xma);
  const auto address = decode_xor_address(*xma, m.transaction_id());
  ASSERT_TRUE(address);
  EXPECT_EQ(*address, *SocketAddress::parse("192.0.2.1:32853"));
  EXPECT_EQ(verify_message_integrity(m, as_bytes(kShortTermPassword)), IntegrityStatus::kOk);
  EXPECT_EQ(verify_message_integrity(m, as_bytes("wrong")), IntegrityStatus::kBad);

  std::vector<uint8_t> buf;
  MessageBuilder b(buf, make_type(Method::kBinding, Class::kSuccess), m.transaction_id());
  b.add_string(attr::kSoftware, "test vector");
  buf[buf.size() - 1] = 0x20;  // the RFC's padding byte
  b.add_xor_address(attr::kXorMappedAddress, *address);
  b.add_message_integrity(as_bytes(kShortTermPassword));
  b.add_fingerprint();
  EXPECT_EQ(buf, to_vector(kIpv4Response));
}

TEST(Rfc5769, Ipv6Response) {
  const auto parsed = MessageView::parse(kIpv6Response);
  ASSERT_TRUE(parsed) << to_string(parsed.error());
  const MessageView& m = *parsed;
  EXPECT_EQ(m.message_class(), Class::kSuccess);
  const auto address = decode_xor_address(*m.find(attr::kXorMappedAddress), m.transaction_id());
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family(), Family::kIPv6);
  EXPECT_EQ(address->port, 32853);
  EXPECT_EQ(address->ip, *IpAddress::parse("2001:db8:1234:5678:11:2233:4455:6677"));
  EXPECT_EQ(verify_message_integrity(m, as_bytes(kShortTermPassword)), IntegrityStatus::kOk);

  std::vector<uint8_t> buf;
  MessageBuilder b(buf, make_type(Method::kBinding, Class::kSuccess), m.transaction_id());
  b.add_string(attr::kSoftware, "test vector");
  buf[buf.size() - 1] = 0x20;
  b.add_xor_address(attr::kXorMappedAddress, *address);
  b.add_message_integrity(as_bytes(kShortTermPassword));
  b.add_fingerprint();
  EXPECT_EQ(buf, to_vector(kIpv6Response));
}

TEST(Rfc5769, LongTermRequest) {
  const auto parsed = MessageView::parse(kLongTermRequest);
  ASSERT_TRUE(parsed) << to_string(parsed.error());
  const MessageView& m = *parsed;
  EXPECT_FALSE(m.has_fingerprint());
  EXPECT_EQ(string_attr(m, attr::kUsername), kLongTermUsername);
  EXPECT_EQ(string_attr(m, attr::kNonce), kLongTermNonce);
  EXPECT_EQ(string_attr(m, attr::kRealm), kLongTermRealm);
  const auto key = long_term_key();
  EXPECT_EQ(verify_message_integrity(m, key), IntegrityStatus::kOk);
  // The short-term rule (password as the key) must not verify a long-term message.
  EXPECT_EQ(verify_message_integrity(m, as_bytes(kLongTermPassword)), IntegrityStatus::kBad);
}

TEST(Rfc5769, LongTermRequestAnyFlippedByteBreaksIntegrity) {
  const auto key = long_term_key();
  for (size_t i = 0; i < kLongTermRequest.size(); ++i) {
    auto copy = kLongTermRequest;
    copy[i] ^= 0x10;
    const auto parsed = MessageView::parse(copy);
    if (!parsed) continue;  // header damage: rejected before any MAC
    EXPECT_NE(verify_message_integrity(*parsed, key), IntegrityStatus::kOk) << "byte " << i;
  }
  auto copy = kLongTermRequest;
  copy[60] ^= 0x01;  // inside NONCE: still parses, MAC must fail
  const auto parsed = MessageView::parse(copy);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(verify_message_integrity(*parsed, key), IntegrityStatus::kBad);
}

TEST(Rfc5769, LongTermRequestRebuiltByteForByte) {
  std::vector<uint8_t> buf;
  MessageBuilder b(buf, make_type(Method::kBinding, Class::kRequest),
                   ByteView(kLongTermRequest).subspan(8, 12));
  b.add_string(attr::kUsername, kLongTermUsername);
  b.add_string(attr::kNonce, kLongTermNonce);
  b.add_string(attr::kRealm, kLongTermRealm);
  b.add_message_integrity(long_term_key());
  EXPECT_EQ(buf, to_vector(kLongTermRequest));
}

}  // namespace
}  // namespace turnpike::stun
