// MessageBuilder round trips: everything the builder writes, MessageView and the decoders read
// back.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "turnpike/stun/attributes.h"
#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"
#include "turnpike/util/crypto.h"

namespace turnpike::stun {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kTid[12] = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65,
                              0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb};
const ByteView kKey = as_bytes("a shared secret");
const ByteView kKey256 = as_bytes("another secret");

// Builds a message with one of every attribute form the builder supports, then MI, MI-SHA256 and
// FINGERPRINT.
Bytes build_everything() {
  Bytes buf;
  MessageBuilder b(buf, make_type(Method::kAllocate, Class::kError), kTid);
  b.add_string(attr::kUsername, "alice");
  b.add_string(attr::kRealm, "example.org");
  b.add_string(attr::kNonce, "obMatJos2AAAB0123456789");
  b.add_string(attr::kSoftware, "turnpike test");
  b.add_u32(attr::kLifetime, 600);
  b.add_u32(attr::kConnectionId, 0xdeadbeef);
  const uint8_t channel[] = {0x40, 0x01, 0x00, 0x00};
  b.add(attr::kChannelNumber, channel);
  const uint8_t transport[] = {17, 0, 0, 0};
  b.add(attr::kRequestedTransport, transport);
  const uint8_t family[] = {2, 0, 0, 0};
  b.add(attr::kRequestedAddressFamily, family);
  const uint8_t algorithm[] = {0, 2, 0, 0};
  b.add(attr::kPasswordAlgorithm, algorithm);
  const uint8_t data[] = {1, 2, 3, 4, 5};
  b.add(attr::kData, data);
  b.add(attr::kDontFragment, {});
  b.add_xor_address(attr::kXorMappedAddress, *SocketAddress::parse("192.0.2.1:32853"));
  b.add_xor_address(attr::kXorPeerAddress,
                    *SocketAddress::parse("[2001:db8:1234:5678:11:2233:4455:6677]:443"));
  b.add_xor_address(attr::kXorRelayedAddress, *SocketAddress::parse("203.0.113.9:49152"));
  b.add_address(attr::kMappedAddress, *SocketAddress::parse("198.51.100.2:1"));
  b.add_address(attr::kAlternateServer, *SocketAddress::parse("[::1]:3478"));
  b.add_error_code(error::kStaleNonce);
  const uint16_t unknown[] = {0x0024, 0x7fff, 0x0002};
  b.add_unknown_attributes(unknown);
  const PasswordAlgorithm algorithms[] = {PasswordAlgorithm::kMd5, PasswordAlgorithm::kSha256};
  b.add_password_algorithms(algorithms);
  b.add_message_integrity(kKey);
  b.add_message_integrity_sha256(kKey256);
  b.add_fingerprint();
  EXPECT_EQ(b.bytes().data(), buf.data());
  EXPECT_EQ(b.bytes().size(), buf.size());
  return buf;
}

TEST(Builder, HeaderAndLengthKeptRight) {
  Bytes buf = {9, 9, 9};  // cleared by the builder
  MessageBuilder b(buf, make_type(Method::kBinding, Class::kRequest), kTid);
  ASSERT_EQ(buf.size(), 20u);
  EXPECT_EQ(load_be16(buf.data()), 0x0001);
  EXPECT_EQ(load_be16(buf.data() + 2), 0);
  EXPECT_EQ(load_be32(buf.data() + 4), kMagicCookie);
  EXPECT_EQ(Bytes(buf.begin() + 8, buf.end()), Bytes(std::begin(kTid), std::end(kTid)));
  for (size_t n = 0; n < 9; ++n) {
    b.add_string(attr::kSoftware, std::string(n, 'x'));
    EXPECT_EQ(buf.size() % 4, 0u);
    EXPECT_EQ(load_be16(buf.data() + 2), buf.size() - 20);
    ASSERT_TRUE(MessageView::parse(buf)) << n;
  }
  // Padding is zero.
  b.add_string(attr::kSoftware, "abcde");
  EXPECT_EQ(load_be16(buf.data() + buf.size() - 10), 5);
  EXPECT_EQ(Bytes(buf.end() - 3, buf.end()), (Bytes{0, 0, 0}));
}

TEST(Builder, RoundTripEveryAttribute) {
  const Bytes buf = build_everything();
  const auto parsed = MessageView::parse(buf);
  ASSERT_TRUE(parsed) << to_string(parsed.error());
  const MessageView& m = *parsed;
  EXPECT_EQ(m.method(), Method::kAllocate);
  EXPECT_EQ(m.message_class(), Class::kError);
  EXPECT_TRUE(m.has_fingerprint());
  EXPECT_EQ(m.attributes().size(), 23u);
  EXPECT_EQ(verify_message_integrity(m, kKey), IntegrityStatus::kOk);
  EXPECT_EQ(verify_message_integrity_sha256(m, kKey256), IntegrityStatus::kOk);
  EXPECT_EQ(verify_message_integrity(m, kKey256), IntegrityStatus::kBad);
  EXPECT_EQ(verify_message_integrity_sha256(m, kKey), IntegrityStatus::kBad);

  EXPECT_EQ(as_string_view(*m.find(attr::kUsername)), "alice");
  EXPECT_EQ(as_string_view(*m.find(attr::kRealm)), "example.org");
  EXPECT_EQ(as_string_view(*m.find(attr::kNonce)), "obMatJos2AAAB0123456789");
  EXPECT_EQ(as_string_view(*m.find(attr::kSoftware)), "turnpike test");
  EXPECT_EQ(*decode_u32(*m.find(attr::kLifetime)), 600u);
  EXPECT_EQ(*decode_u32(*m.find(attr::kConnectionId)), 0xdeadbeefu);
  EXPECT_EQ(*decode_channel_number(*m.find(attr::kChannelNumber)), 0x4001);
  EXPECT_EQ(*decode_requested_transport(*m.find(attr::kRequestedTransport)), 17);
  EXPECT_EQ(*decode_address_family(*m.find(attr::kRequestedAddressFamily)), Family::kIPv6);
  EXPECT_EQ(*decode_password_algorithm(*m.find(attr::kPasswordAlgorithm)),
            PasswordAlgorithm::kSha256);
  EXPECT_EQ(Bytes(m.find(attr::kData)->begin(), m.find(attr::kData)->end()),
            (Bytes{1, 2, 3, 4, 5}));
  EXPECT_TRUE(m.find(attr::kDontFragment)->empty());

  const ByteView tid = m.transaction_id();
  EXPECT_EQ(decode_xor_address(*m.find(attr::kXorMappedAddress), tid)->to_string(),
            "192.0.2.1:32853");
  EXPECT_EQ(decode_xor_address(*m.find(attr::kXorPeerAddress), tid)->to_string(),
            "[2001:db8:1234:5678:11:2233:4455:6677]:443");
  EXPECT_EQ(decode_xor_address(*m.find(attr::kXorRelayedAddress), tid)->to_string(),
            "203.0.113.9:49152");
  // The XOR really happened: the raw port differs from the plain one.
  EXPECT_NE(load_be16(m.find(attr::kXorMappedAddress)->data() + 2), 32853);
  EXPECT_EQ(decode_address(*m.find(attr::kMappedAddress))->to_string(), "198.51.100.2:1");
  EXPECT_EQ(decode_address(*m.find(attr::kAlternateServer))->to_string(), "[::1]:3478");

  const auto error = decode_error_code(*m.find(attr::kErrorCode));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, 438);
  EXPECT_EQ(error->reason, "Stale Nonce");

  const ByteView unknown = *m.find(attr::kUnknownAttributes);
  ASSERT_EQ(unknown.size(), 6u);
  EXPECT_EQ(load_be16(unknown.data()), 0x0024);
  EXPECT_EQ(load_be16(unknown.data() + 2), 0x7fff);
  EXPECT_EQ(load_be16(unknown.data() + 4), 0x0002);

  const ByteView algorithms = *m.find(attr::kPasswordAlgorithms);
  EXPECT_EQ(Bytes(algorithms.begin(), algorithms.end()), (Bytes{0, 1, 0, 0, 0, 2, 0, 0}));
}

TEST(Builder, AnyChangedByteIsDetected) {
  const Bytes buf = build_everything();
  for (size_t i = 0; i < buf.size(); ++i) {
    Bytes copy = buf;
    copy[i] ^= 0x04;
    const auto m = MessageView::parse(copy);
    // Only damage to FINGERPRINT's own type survives parsing, as an ignored unknown attribute:
    // the message then has no fingerprint at all.
    if (m) {
      EXPECT_TRUE(i >= buf.size() - 8 && i < buf.size() - 6 && !m->has_fingerprint())
          << "byte " << i;
    }
  }
}

TEST(Builder, AnyChangedByteBreaksIntegrityWithoutFingerprint) {
  Bytes buf = build_everything();
  buf.resize(buf.size() - 8);  // drop FINGERPRINT
  store_be16(buf.data() + 2, static_cast<uint16_t>(buf.size() - 20));
  {
    const auto m = MessageView::parse(buf);
    ASSERT_TRUE(m);
    ASSERT_EQ(verify_message_integrity(*m, kKey), IntegrityStatus::kOk);
    ASSERT_EQ(verify_message_integrity_sha256(*m, kKey256), IntegrityStatus::kOk);
  }
  for (size_t i = 0; i < buf.size(); ++i) {
    Bytes copy = buf;
    copy[i] ^= 0x40;
    const auto m = MessageView::parse(copy);
    if (!m) continue;
    // MI-SHA256 covers everything before it, MI included, so at least one of them must break.
    const bool sha1_ok = verify_message_integrity(*m, kKey) == IntegrityStatus::kOk;
    const bool sha256_ok = verify_message_integrity_sha256(*m, kKey256) == IntegrityStatus::kOk;
    EXPECT_FALSE(sha1_ok && sha256_ok) << "byte " << i;
  }
}

TEST(Builder, ErrorCodeEncoding) {
  Bytes buf;
  MessageBuilder b(buf, 0x0111, kTid);
  b.add_error_code(error::kAllocationQuotaReached, "custom");
  b.add_error_code(599);  // no known phrase: empty reason
  const auto m = MessageView::parse(buf);
  ASSERT_TRUE(m);
  const ByteView v = m->value(m->attributes()[0]);
  EXPECT_EQ(Bytes(v.begin(), v.begin() + 4), (Bytes{0, 0, 4, 86}));
  EXPECT_EQ(decode_error_code(v)->reason, "custom");
  const auto second = decode_error_code(m->value(m->attributes()[1]));
  EXPECT_EQ(second->code, 599);
  EXPECT_TRUE(second->reason.empty());
}

TEST(Builder, IntegrityKeyAndAbsence) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  b.add_string(attr::kUsername, "u");
  auto m = MessageView::parse(buf);
  ASSERT_TRUE(m);
  EXPECT_EQ(verify_message_integrity(*m, kKey), IntegrityStatus::kNoIntegrity);
  EXPECT_EQ(verify_message_integrity_sha256(*m, kKey), IntegrityStatus::kNoIntegrity);
  b.add_message_integrity({});  // an empty key is a valid HMAC key
  m = MessageView::parse(buf);
  ASSERT_TRUE(m);
  EXPECT_EQ(verify_message_integrity(*m, {}), IntegrityStatus::kOk);
  EXPECT_EQ(verify_message_integrity(*m, kKey), IntegrityStatus::kBad);
  // The MAC matches an independent computation: HMAC over the message with its final length.
  const Bytes covered(buf.begin(), buf.end() - 24);
  ASSERT_GE(covered.size(), 4U);
  EXPECT_EQ(static_cast<size_t>((covered[2] << 8) | covered[3]), buf.size() - 20);
  const auto mac = crypto::hmac_sha1({}, covered);
  EXPECT_EQ(Bytes(buf.end() - 20, buf.end()), Bytes(mac.begin(), mac.end()));
}

// MESSAGE-INTEGRITY-SHA256 truncated to `size` bytes, built by hand (RFC 8489 §14.6).
Bytes with_truncated_sha256(size_t size) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  b.add_string(attr::kUsername, "u");
  store_be16(buf.data() + 2, static_cast<uint16_t>(buf.size() - 20 + 4 + size));
  const auto mac = crypto::hmac_sha256(kKey, buf);
  store_be16(buf.data() + 2, static_cast<uint16_t>(buf.size() - 20));
  b.add(attr::kMessageIntegritySha256, ByteView(mac).first(size));
  return buf;
}

TEST(Builder, TruncatedSha256Integrity) {
  for (size_t size = 16; size <= 32; size += 4) {
    const Bytes buf = with_truncated_sha256(size);
    const auto m = MessageView::parse(buf);
    ASSERT_TRUE(m);
    EXPECT_EQ(verify_message_integrity_sha256(*m, kKey), IntegrityStatus::kOk) << size;
    Bytes bad = buf;
    bad.back() ^= 1;
    EXPECT_EQ(verify_message_integrity_sha256(*MessageView::parse(bad), kKey),
              IntegrityStatus::kBad)
        << size;
  }
  for (size_t size : {0u, 4u, 12u, 18u, 30u}) {
    const Bytes buf = with_truncated_sha256(size);
    const auto m = MessageView::parse(buf);
    ASSERT_TRUE(m);
    EXPECT_EQ(verify_message_integrity_sha256(*m, kKey), IntegrityStatus::kBad) << size;
  }
}

TEST(Builder, MalformedSha1IntegrityIsBad) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  const uint8_t short_mac[16] = {};
  b.add(attr::kMessageIntegrity, short_mac);
  const auto m = MessageView::parse(buf);
  ASSERT_TRUE(m);
  EXPECT_EQ(verify_message_integrity(*m, kKey), IntegrityStatus::kBad);
}

TEST(Builder, TransactionIdOfWrongSizeIsZeroFilled) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, ByteView(kTid).first(4));
  EXPECT_EQ(Bytes(buf.begin() + 8, buf.end()),
            (Bytes{0x10, 0x21, 0x32, 0x43, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(Builder, TooLargeThrowsAndKeepsMessageIntact) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  EXPECT_THROW(b.add(attr::kData, Bytes(65536, 0)), std::length_error);
  b.add(attr::kData, Bytes(65000, 1));
  EXPECT_THROW(b.add(attr::kData, Bytes(600, 2)), std::length_error);
  b.add(attr::kData, Bytes(524, 2));  // exactly up to the 0xFFFC limit
  EXPECT_EQ(buf.size(), 20u + 0xFFFC);
  EXPECT_THROW(b.add_message_integrity(kKey), std::length_error);
  EXPECT_THROW(b.add_fingerprint(), std::length_error);
  EXPECT_EQ(load_be16(buf.data() + 2), 0xFFFC);
  EXPECT_TRUE(MessageView::parse(buf));
}

TEST(Builder, TopTypeBitsMasked) {
  Bytes buf;
  MessageBuilder b(buf, 0xC001, kTid);
  EXPECT_EQ(load_be16(buf.data()), 0x0001);
}

}  // namespace
}  // namespace turnpike::stun
