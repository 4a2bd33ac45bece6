// ChannelData framing over UDP (RFC 8656 §12.4, §12.5).
#include "turnpike/stun/channel_data.h"

#include <gtest/gtest.h>

#include <vector>

namespace turnpike::stun {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(ChannelData, Valid) {
  const Bytes d = {0x40, 0x00, 0x00, 0x03, 'a', 'b', 'c'};
  const auto r = parse_channel_data(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->channel, 0x4000);
  EXPECT_EQ(as_string_view(r->payload), "abc");
  EXPECT_EQ(r->payload.data(), d.data() + 4);  // borrows the datagram
}

TEST(ChannelData, PaddingIsIgnored) {
  const Bytes d = {0x4F, 0xFF, 0x00, 0x03, 'a', 'b', 'c', 0, 0xEE, 0xEE};
  const auto r = parse_channel_data(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->channel, 0x4FFF);
  EXPECT_EQ(as_string_view(r->payload), "abc");
}

TEST(ChannelData, EmptyPayload) {
  const Bytes d = {0x41, 0x23, 0x00, 0x00};
  const auto r = parse_channel_data(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->channel, 0x4123);
  EXPECT_TRUE(r->payload.empty());
}

TEST(ChannelData, TooShort) {
  const Bytes d = {0x40, 0x00, 0x00, 0x04, 'a', 'b', 'c'};
  EXPECT_EQ(parse_channel_data(d).error(), ParseError::kTooShort);
  for (size_t n = 0; n < 4; ++n) {
    EXPECT_EQ(parse_channel_data(ByteView(d).first(n)).error(), ParseError::kTooShort) << n;
  }
  EXPECT_EQ(parse_channel_data(Bytes{0x40, 0x00, 0xFF, 0xFF}).error(), ParseError::kTooShort);
}

TEST(ChannelData, ChannelOutOfRange) {
  for (uint16_t channel : std::initializer_list<uint16_t>{0x0000, 0x3FFF, 0x8000, 0xFFFF}) {
    Bytes d = {0, 0, 0x00, 0x00};
    store_be16(d.data(), channel);
    EXPECT_EQ(parse_channel_data(d).error(), ParseError::kBadAttributeValue) << channel;
  }
}

TEST(ChannelData, LegacyRfc5766RangeParses) {
  // 0x5000-0x7FFF: reserved by RFC 8656 but used by RFC 5766 clients; binding policy decides.
  for (uint16_t channel : std::initializer_list<uint16_t>{0x5000, 0x6D68, 0x7FFF}) {
    Bytes d = {0, 0, 0x00, 0x01, 0xAB};
    store_be16(d.data(), channel);
    const auto frame = parse_channel_data(d);
    ASSERT_TRUE(frame.has_value()) << channel;
    EXPECT_EQ(frame->channel, channel);
    EXPECT_EQ(frame->payload.size(), 1u);
  }
  EXPECT_TRUE(is_valid_legacy_channel(0x7FFF));
  EXPECT_FALSE(is_valid_legacy_channel(0x8000));
}

TEST(ChannelData, Demultiplexing) {
  EXPECT_TRUE(looks_like_channel_data(Bytes{0x40}));
  EXPECT_TRUE(looks_like_channel_data(Bytes{0x7F, 0xFF}));  // reserved range: still 0b01
  EXPECT_FALSE(looks_like_channel_data(Bytes{0x00, 0x01}));
  EXPECT_FALSE(looks_like_channel_data(Bytes{0x80}));
  EXPECT_FALSE(looks_like_channel_data({}));
  EXPECT_TRUE(is_valid_channel(0x4000));
  EXPECT_TRUE(is_valid_channel(0x4FFF));
  EXPECT_FALSE(is_valid_channel(0x3FFF));
  EXPECT_FALSE(is_valid_channel(0x5000));
}

}  // namespace
}  // namespace turnpike::stun
