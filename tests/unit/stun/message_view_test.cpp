// MessageView::parse error paths and the attribute rules of RFC 8489 §14.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"
#include "unit/stun/rfc5769_vectors.h"

namespace turnpike::stun {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kTid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

// A header (type 0x0001) with the given attribute bytes and a length field that matches them.
Bytes message_with(const Bytes& attributes, uint16_t type = 0x0001) {
  Bytes m(20, 0);
  store_be16(m.data(), type);
  store_be16(m.data() + 2, static_cast<uint16_t>(attributes.size()));
  store_be32(m.data() + 4, kMagicCookie);
  std::memcpy(m.data() + 8, kTid, 12);
  m.insert(m.end(), attributes.begin(), attributes.end());
  return m;
}

ParseError error_of(const Bytes& m) {
  const auto r = MessageView::parse(m);
  EXPECT_FALSE(r) << "expected a parse error";
  return r ? ParseError::kBadAttributeValue : r.error();
}

TEST(MessageView, MinimalMessage) {
  const Bytes m = message_with({});
  const auto r = MessageView::parse(m);  // the view borrows m
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type(), 0x0001);
  EXPECT_TRUE(r->attributes().empty());
  EXPECT_FALSE(r->find(attr::kUsername));
  EXPECT_FALSE(r->has_fingerprint());
  EXPECT_FALSE(r->integrity_offset());
  EXPECT_EQ(r->raw().size(), 20u);
  EXPECT_EQ(r->transaction_id()[11], 12);
}

TEST(MessageView, TruncatedHeader) {
  const Bytes full = message_with({});
  for (size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(MessageView::parse(ByteView(full).first(n)).error(), ParseError::kTooShort) << n;
  }
}

TEST(MessageView, TopBitsMustBeZero) {
  for (uint8_t top : std::initializer_list<uint8_t>{0x40, 0x80, 0xC0}) {
    Bytes m = message_with({});
    m[0] |= top;
    EXPECT_EQ(error_of(m), ParseError::kNotStun) << int{top};
  }
}

TEST(MessageView, WrongMagicCookie) {
  Bytes m = message_with({});
  m[7] ^= 0x01;
  EXPECT_EQ(error_of(m), ParseError::kBadMagicCookie);
  EXPECT_FALSE(MessageView::looks_like_stun(m));
}

TEST(MessageView, LengthNotMultipleOfFour) {
  Bytes m = message_with({0x80, 0x22, 0x00, 0x01, 'x', 0, 0, 0});
  m[3] = 7;
  m.pop_back();  // 7 bytes present, as the length claims
  EXPECT_EQ(error_of(m), ParseError::kBadLength);
}

TEST(MessageView, LengthMismatch) {
  Bytes m = message_with({0x80, 0x22, 0x00, 0x04, 'a', 'b', 'c', 'd'});
  Bytes longer = m;
  longer.insert(longer.end(), {0, 0, 0, 0});  // trailing bytes after the message
  EXPECT_EQ(error_of(longer), ParseError::kBadLength);
  Bytes shorter = m;
  shorter.resize(shorter.size() - 4);  // fewer bytes than the header claims
  EXPECT_EQ(error_of(shorter), ParseError::kTooShort);
}

TEST(MessageView, AttributeRunningPastEnd) {
  EXPECT_EQ(error_of(message_with({0x80, 0x22, 0x00, 0x08, 'a', 'b', 'c', 'd'})),
            ParseError::kTruncatedAttribute);
  EXPECT_EQ(error_of(message_with({0x80, 0x22, 0xFF, 0xFC, 'a', 'b', 'c', 'd'})),
            ParseError::kTruncatedAttribute);
}

TEST(MessageView, MissingPadding) {
  // A 5-byte value takes 8 bytes with its padding; only 4 are present.
  EXPECT_EQ(error_of(message_with({0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd'})),
            ParseError::kTruncatedAttribute);
  // With its padding present (any content: RFC 8489 §14 says ignore it) the same value is fine.
  const Bytes m = message_with({0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e', 0xAA, 0xBB, 0xCC});
  const auto r = MessageView::parse(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(as_string_view(*r->find(attr::kSoftware)), "abcde");
}

TEST(MessageView, ZeroLengthAttributes) {
  const Bytes m = message_with({0x00, 0x1A, 0x00, 0x00, 0x80, 0x22, 0x00, 0x00});
  const auto r = MessageView::parse(m);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attributes().size(), 2u);
  EXPECT_TRUE(r->find(attr::kDontFragment));
  EXPECT_TRUE(r->find(attr::kDontFragment)->empty());
  EXPECT_EQ(r->attributes()[1].offset, 24);
}

TEST(MessageView, TooManyAttributes) {
  Bytes attrs;
  for (size_t i = 0; i < MessageView::kMaxAttributes; ++i) {
    attrs.insert(attrs.end(), {0x80, 0x22, 0x00, 0x00});
  }
  const Bytes m = message_with(attrs);
  const auto ok = MessageView::parse(m);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->attributes().size(), MessageView::kMaxAttributes);
  attrs.insert(attrs.end(), {0x80, 0x22, 0x00, 0x00});
  EXPECT_EQ(error_of(message_with(attrs)), ParseError::kTooManyAttributes);
}

TEST(MessageView, FingerprintChecked) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  b.add_string(attr::kSoftware, "abc");
  b.add_fingerprint();
  ASSERT_TRUE(MessageView::parse(buf));
  EXPECT_TRUE(MessageView::parse(buf)->has_fingerprint());

  Bytes wrong = buf;
  wrong.back() ^= 0x80;
  EXPECT_EQ(error_of(wrong), ParseError::kBadFingerprint);

  // Damage the body: the CRC no longer matches.
  Bytes body = buf;
  body[25] ^= 0x01;
  EXPECT_EQ(error_of(body), ParseError::kBadFingerprint);
}

TEST(MessageView, FingerprintMustBeLast) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  b.add_fingerprint();
  b.add_string(attr::kSoftware, "late");
  // Make the CRC right for the final header, so only the position is wrong.
  store_be32(buf.data() + 24, fingerprint_of(ByteView(buf).first(20)));
  EXPECT_EQ(error_of(buf), ParseError::kBadFingerprint);
  // Same with the stray attribute after it being an (otherwise ignored) one after MI.
  Bytes after_mi;
  MessageBuilder b2(after_mi, 0x0001, kTid);
  b2.add_message_integrity(as_bytes("k"));
  b2.add_fingerprint();
  b2.add_string(attr::kSoftware, "late");
  store_be32(after_mi.data() + 48, fingerprint_of(ByteView(after_mi).first(44)));
  EXPECT_EQ(error_of(after_mi), ParseError::kBadFingerprint);
}

TEST(MessageView, FingerprintWithWrongLength) {
  // FINGERPRINT with an 8-byte value whose first 4 bytes would be a valid CRC.
  Bytes m = message_with({0x80, 0x28, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0});
  store_be32(m.data() + 24, fingerprint_of(ByteView(m).first(20)));
  EXPECT_EQ(error_of(m), ParseError::kBadFingerprint);
}

TEST(MessageView, AttributesAfterIntegrityAreIgnored) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  b.add_string(attr::kUsername, "user");
  b.add_message_integrity(as_bytes("key"));
  b.add_string(attr::kSoftware, "ignored");
  b.add_string(attr::kUsername, "other");
  b.add_message_integrity(as_bytes("key2"));  // a second MI: ignored too
  b.add_message_integrity_sha256(as_bytes("key"));
  b.add_string(attr::kRealm, "ignored");
  b.add_message_integrity(as_bytes("key"));  // after MI-SHA256: ignored
  b.add_fingerprint();
  const auto r = MessageView::parse(buf);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_FALSE(r->find(attr::kSoftware));
  EXPECT_FALSE(r->find(attr::kRealm));
  EXPECT_EQ(as_string_view(*r->find(attr::kUsername)), "user");
  EXPECT_EQ(r->integrity_offset(), std::optional<uint16_t>(28));
  ASSERT_TRUE(r->integrity_sha256_offset());
  ASSERT_EQ(r->attributes().size(), 4u);  // USERNAME, MI, MI-SHA256, FINGERPRINT
  EXPECT_EQ(r->attributes()[2].type, attr::kMessageIntegritySha256);
  EXPECT_EQ(r->attributes()[3].type, attr::kFingerprint);
  EXPECT_TRUE(r->has_fingerprint());
  EXPECT_EQ(verify_message_integrity(*r, as_bytes("key")), IntegrityStatus::kOk);
}

TEST(MessageView, IntegritySha256FirstThenMiIsIgnored) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  b.add_message_integrity_sha256(as_bytes("k"));
  b.add_message_integrity(as_bytes("k"));
  const auto r = MessageView::parse(buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->integrity_sha256_offset(), std::optional<uint16_t>(20));
  EXPECT_FALSE(r->integrity_offset());
  EXPECT_EQ(verify_message_integrity(*r, as_bytes("k")), IntegrityStatus::kNoIntegrity);
  EXPECT_EQ(verify_message_integrity_sha256(*r, as_bytes("k")), IntegrityStatus::kOk);
}

TEST(MessageView, IgnoredAttributesStillMustBeWellFormed) {
  Bytes buf;
  MessageBuilder b(buf, 0x0001, kTid);
  b.add_message_integrity(as_bytes("k"));
  buf.insert(buf.end(), {0x80, 0x22, 0x00, 0x10, 0, 0, 0, 0});  // claims 16, has 4
  store_be16(buf.data() + 2, static_cast<uint16_t>(buf.size() - 20));
  EXPECT_EQ(error_of(buf), ParseError::kTruncatedAttribute);
}

TEST(MessageView, UnknownRequiredAttributes) {
  const Bytes m = message_with({
      0x00, 0x24, 0x00, 0x00,  // PRIORITY (not ours): required
      0x80, 0x29, 0x00, 0x00,  // ICE-CONTROLLED: optional
      0x00, 0x06, 0x00, 0x00,  // USERNAME: known
      0x7F, 0xFF, 0x00, 0x00,  // unknown required
      0x00, 0x24, 0x00, 0x00,  // duplicate: reported once
      0x00, 0x02, 0x00, 0x00,  // RESPONSE-ADDRESS (RFC 3489, gone): unknown required
  });
  const auto r = MessageView::parse(m);
  ASSERT_TRUE(r);
  uint16_t out[8] = {};
  ASSERT_EQ(r->unknown_required_attributes(out), 3u);
  EXPECT_EQ(out[0], 0x0024);
  EXPECT_EQ(out[1], 0x7FFF);
  EXPECT_EQ(out[2], 0x0002);
  uint16_t small[2] = {};
  EXPECT_EQ(r->unknown_required_attributes(small), 2u);  // never writes past the span
  EXPECT_EQ(r->unknown_required_attributes(std::span<uint16_t>()), 0u);
}

TEST(MessageView, AllKnownRequiredAttributesAreKnown) {
  Bytes attrs;
  for (uint16_t t : {attr::kMappedAddress,
                     attr::kUsername,
                     attr::kErrorCode,
                     attr::kUnknownAttributes,
                     attr::kChannelNumber,
                     attr::kLifetime,
                     attr::kXorPeerAddress,
                     attr::kData,
                     attr::kRealm,
                     attr::kNonce,
                     attr::kXorRelayedAddress,
                     attr::kRequestedAddressFamily,
                     attr::kEvenPort,
                     attr::kRequestedTransport,
                     attr::kDontFragment,
                     attr::kPasswordAlgorithm,
                     attr::kUserhash,
                     attr::kXorMappedAddress,
                     attr::kReservationToken,
                     attr::kConnectionId}) {
    attrs.push_back(static_cast<uint8_t>(t >> 8));
    attrs.push_back(static_cast<uint8_t>(t));
    attrs.insert(attrs.end(), {0, 0});
  }
  const Bytes m = message_with(attrs);
  const auto r = MessageView::parse(m);
  ASSERT_TRUE(r);
  uint16_t out[4] = {};
  EXPECT_EQ(r->unknown_required_attributes(out), 0u);
}

TEST(MessageView, LooksLikeStun) {
  EXPECT_TRUE(MessageView::looks_like_stun(message_with({})));
  EXPECT_TRUE(MessageView::looks_like_stun(testing::kSampleRequest));
  EXPECT_FALSE(MessageView::looks_like_stun({}));
  Bytes m = message_with({});
  EXPECT_FALSE(MessageView::looks_like_stun(ByteView(m).first(7)));
  m[0] = 0x40;
  EXPECT_FALSE(MessageView::looks_like_stun(m));
}

TEST(MessageView, MethodAndClassFromType) {
  const Bytes m = message_with({}, make_type(Method::kAllocate, Class::kError));
  const auto r = MessageView::parse(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type(), 0x0113);
  EXPECT_EQ(r->method(), Method::kAllocate);
  EXPECT_EQ(r->message_class(), Class::kError);
  EXPECT_EQ(make_type(Method::kSend, Class::kIndication), 0x0016);
  EXPECT_EQ(make_type(Method::kChannelBind, Class::kSuccess), 0x0109);
}

TEST(MessageView, LargestMessages) {
  // A 65552-byte message (TCP only): AttributeRef's 16-bit offset reaches an attribute at 0xFFFC,
  // but one starting at 0x10000 cannot be represented and the message is refused.
  Bytes attrs(65532, 0);
  store_be16(attrs.data(), attr::kData);
  store_be16(attrs.data() + 2, 65508);  // next attribute at 20 + 4 + 65508 = 65532
  store_be16(attrs.data() + 65512, attr::kSoftware);
  store_be16(attrs.data() + 65514, 16);
  const Bytes m = message_with(attrs);
  const auto ok = MessageView::parse(m);
  ASSERT_TRUE(ok) << to_string(ok.error());
  EXPECT_EQ(ok->attributes()[1].offset, 65532);
  EXPECT_EQ(ok->find(attr::kSoftware)->size(), 16u);

  store_be16(attrs.data() + 2, 65512);  // next attribute at 65536
  store_be16(attrs.data() + 65512, 0);
  store_be16(attrs.data() + 65514, 0);
  store_be16(attrs.data() + 65516, attr::kSoftware);
  store_be16(attrs.data() + 65518, 12);
  EXPECT_EQ(error_of(message_with(attrs)), ParseError::kBadLength);
}

TEST(MessageView, ErrorNames) {
  for (ParseError e :
       {ParseError::kTooShort, ParseError::kNotStun, ParseError::kBadMagicCookie,
        ParseError::kBadLength, ParseError::kTruncatedAttribute, ParseError::kTooManyAttributes,
        ParseError::kBadFingerprint, ParseError::kBadAttributeValue}) {
    ASSERT_NE(to_string(e), nullptr);
    EXPECT_STRNE(to_string(e), "unknown parse error");
  }
}

}  // namespace
}  // namespace turnpike::stun
