// Data indications framed in place (RFC 8656 §11.3): the codec writes the header, XOR-PEER-ADDRESS
// and the DATA attribute header into the headroom in front of the payload, which is not moved.
#include "turnpike/stun/data_indication.h"

#include <gtest/gtest.h>

#include <vector>

#include "turnpike/stun/attributes.h"
#include "turnpike/stun/message_view.h"

namespace turnpike::stun {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr TransactionId kTransaction = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

struct Framed {
  Bytes buffer;
  uint8_t* payload = nullptr;
  ByteView message;
};

Framed frame(const SocketAddress& peer, const Bytes& payload) {
  Framed f;
  f.buffer.assign(kDataIndicationMaxHeadroom + payload.size() + kDataIndicationMaxTailroom + 1,
                  0xEE);  // one more byte: nothing is written past the padding
  f.payload = f.buffer.data() + kDataIndicationMaxHeadroom;
  std::copy(payload.begin(), payload.end(), f.payload);
  f.message = frame_data_indication(f.payload, payload.size(), peer, kTransaction);
  return f;
}

void expect_data_indication(const Framed& f, const SocketAddress& peer, const Bytes& payload) {
  auto parsed = MessageView::parse(f.message);
  ASSERT_TRUE(parsed) << to_string(parsed.error());
  EXPECT_EQ(parsed->method(), Method::kData);
  EXPECT_EQ(parsed->message_class(), Class::kIndication);
  EXPECT_TRUE(std::ranges::equal(parsed->transaction_id(), kTransaction));
  const auto peer_attr = parsed->find(attr::kXorPeerAddress);
  ASSERT_TRUE(peer_attr);
  const auto decoded = decode_xor_address(*peer_attr, parsed->transaction_id());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, peer);
  const auto data = parsed->find(attr::kData);
  ASSERT_TRUE(data);
  EXPECT_TRUE(std::ranges::equal(*data, payload));
  EXPECT_EQ(data->data(), f.payload);  // framed around the payload: not copied
  EXPECT_EQ(f.message.data() + data_indication_headroom(peer.family()), f.payload);
  EXPECT_EQ(f.message.size() % 4, 0u);
}

TEST(DataIndication, Ipv4PeerIsFramedInPlace) {
  const SocketAddress peer{IpAddress::v4(93, 184, 216, 34), 5000};
  const Bytes payload = {'h', 'e', 'l', 'l', 'o'};
  const Framed f = frame(peer, payload);
  EXPECT_EQ(data_indication_headroom(Family::kIPv4), 36u);
  EXPECT_EQ(f.message.size(), 36u + 5 + 3);
  expect_data_indication(f, peer, payload);
  // The padding after the payload is zeroed (RFC 8489 §14), the byte after it untouched.
  EXPECT_EQ(f.payload[5], 0);
  EXPECT_EQ(f.payload[7], 0);
  EXPECT_EQ(f.payload[8], 0xEE);
}

TEST(DataIndication, Ipv6PeerUsesTheWholeHeadroom) {
  const SocketAddress peer{*IpAddress::parse("2001:db8::1"), 443};
  const Bytes payload(64, 0x5A);
  const Framed f = frame(peer, payload);
  EXPECT_EQ(data_indication_headroom(Family::kIPv6), kDataIndicationMaxHeadroom);
  EXPECT_EQ(f.message.data(), f.buffer.data());
  EXPECT_EQ(f.message.size(), kDataIndicationMaxHeadroom + 64);
  expect_data_indication(f, peer, payload);
}

TEST(DataIndication, EmptyPayload) {
  const SocketAddress peer{IpAddress::v4(192, 0, 2, 1), 1};
  const Framed f = frame(peer, {});
  EXPECT_EQ(f.message.size(), 36u);
  expect_data_indication(f, peer, {});
}

}  // namespace
}  // namespace turnpike::stun
