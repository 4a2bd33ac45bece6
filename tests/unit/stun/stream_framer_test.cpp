// StreamFramer: cutting a TCP/TLS byte stream into STUN messages (RFC 8489 §6.2.2) and padded
// ChannelData frames (RFC 8656 §12.5), whatever the read boundaries are.
#include "turnpike/stun/stream_framer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace turnpike::stun {
namespace {

using Bytes = std::vector<uint8_t>;

// A STUN message with a `body_length`-byte body (the framer looks at the header only).
Bytes stun_message(size_t body_length, uint8_t fill, uint16_t type = 0x0001) {
  Bytes m(kHeaderSize + body_length, fill);
  m[0] = static_cast<uint8_t>(type >> 8);
  m[1] = static_cast<uint8_t>(type & 0xFF);
  m[2] = static_cast<uint8_t>(body_length >> 8);
  m[3] = static_cast<uint8_t>(body_length & 0xFF);
  m[4] = 0x21;  // magic cookie
  m[5] = 0x12;
  m[6] = 0xA4;
  m[7] = 0x42;
  for (size_t i = 8; i < kHeaderSize; ++i) m[i] = static_cast<uint8_t>(i * 7 + fill);
  return m;
}

// A ChannelData frame without padding (what the framer hands on).
Bytes channel_frame(uint16_t channel, size_t length, uint8_t fill) {
  Bytes f(kChannelDataHeaderSize + length);
  f[0] = static_cast<uint8_t>(channel >> 8);
  f[1] = static_cast<uint8_t>(channel & 0xFF);
  f[2] = static_cast<uint8_t>(length >> 8);
  f[3] = static_cast<uint8_t>(length & 0xFF);
  for (size_t i = 0; i < length; ++i)
    f[kChannelDataHeaderSize + i] = static_cast<uint8_t>(fill + i);
  return f;
}

size_t padding_of(size_t frame_size) { return (4 - (frame_size & 3)) & 3; }

// The frame as it is on a stream: padded to a multiple of 4. The padding is deliberately not zero
// (RFC 8656 §12.5: its content is ignored) so that a framer treating it as the next frame fails.
Bytes on_wire(const Bytes& frame) {
  Bytes w = frame;
  w.insert(w.end(), padding_of(frame.size()), uint8_t{0xEE});
  return w;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Seen {
  Bytes bytes;
  const uint8_t* data = nullptr;  // where the view pointed
};

// Feeds `input` split into pieces at `cuts` (ascending offsets), collecting the frames.
struct Collector {
  StreamFramer framer;
  std::vector<Seen> frames;

  bool feed(ByteView bytes) {
    return framer.feed(bytes, [this](ByteView frame) {
      frames.push_back({Bytes(frame.begin(), frame.end()), frame.data()});
    });
  }

  bool feed_split(const Bytes& input, const std::vector<size_t>& cuts) {
    size_t from = 0;
    for (size_t cut : cuts) {
      if (!feed(ByteView(input).subspan(from, cut - from))) return false;
      from = cut;
    }
    return feed(ByteView(input).subspan(from));
  }

  std::vector<Bytes> contents() const {
    std::vector<Bytes> out;
    for (const Seen& s : frames) out.push_back(s.bytes);
    return out;
  }
};

TEST(StreamFramer, OneStunMessagePerFeed) {
  Collector c;
  for (size_t body : {size_t{0}, size_t{4}, size_t{8}, size_t{100}, size_t{548}}) {
    const Bytes m = stun_message(body, static_cast<uint8_t>(body));
    const size_t before = c.frames.size();
    ASSERT_TRUE(c.feed(m)) << body;
    ASSERT_EQ(c.frames.size(), before + 1) << body;
    EXPECT_EQ(c.frames.back().bytes, m) << body;
    EXPECT_EQ(c.frames.back().data, m.data()) << "a whole message in one read is not copied";
    EXPECT_EQ(c.framer.buffered(), 0u);
  }
}

TEST(StreamFramer, ManyMixedFramesInOneFeedAreZeroCopyViews) {
  const std::vector<Bytes> frames = {
      stun_message(8, 0x10),          channel_frame(0x4000, 5, 0x20),
      stun_message(0, 0x30),          channel_frame(0x4FFF, 0, 0x40),
      channel_frame(0x4001, 4, 0x50), channel_frame(0x7FFF, 3, 0x60),
      stun_message(36, 0x70, 0x0113), channel_frame(0x4002, 1, 0x80),
      channel_frame(0x4003, 2, 0x90), stun_message(4, 0xA0, 0x0017),
  };
  Bytes input;
  std::vector<size_t> offsets;
  for (const Bytes& f : frames) {
    offsets.push_back(input.size());
    const Bytes w = f[0] >= 0x40 ? on_wire(f) : f;
    input.insert(input.end(), w.begin(), w.end());
  }
  Collector c;
  ASSERT_TRUE(c.feed(input));
  ASSERT_EQ(c.frames.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(c.frames[i].bytes, frames[i]) << "frame " << i;
    EXPECT_EQ(c.frames[i].data, input.data() + offsets[i]) << "frame " << i << " was copied";
  }
  EXPECT_EQ(c.framer.buffered(), 0u);
}

TEST(StreamFramer, OneByteAtATime) {
  const std::vector<Bytes> frames = {stun_message(12, 1), channel_frame(0x4000, 7, 2),
                                     channel_frame(0x4001, 8, 3), stun_message(0, 4),
                                     channel_frame(0x4002, 1, 5)};
  Bytes input;
  std::vector<size_t> complete_at;  // index of the byte that completes each frame (not padding)
  for (const Bytes& f : frames) {
    complete_at.push_back(input.size() + f.size() - 1);
    const Bytes w = f[0] >= 0x40 ? on_wire(f) : f;
    input.insert(input.end(), w.begin(), w.end());
  }
  Collector c;
  size_t next = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    ASSERT_TRUE(c.feed(ByteView(input).subspan(i, 1))) << "byte " << i;
    if (next < complete_at.size() && i == complete_at[next]) ++next;
    ASSERT_EQ(c.frames.size(), next) << "after byte " << i;
    EXPECT_LE(c.framer.buffered(), StreamFramer::kMaxFrame);
  }
  EXPECT_EQ(c.contents(), frames);
  EXPECT_EQ(c.framer.buffered(), 0u);
}

TEST(StreamFramer, SplitAtEveryOffsetOfAThreeFrameStream) {
  const std::vector<Bytes> frames = {stun_message(16, 0x11), channel_frame(0x4ABC, 5, 0x22),
                                     stun_message(8, 0x33, 0x0101)};
  const Bytes input = concat({frames[0], on_wire(frames[1]), frames[2]});

  Collector whole;
  ASSERT_TRUE(whole.feed(input));
  ASSERT_EQ(whole.contents(), frames);

  for (size_t i = 0; i <= input.size(); ++i) {
    Collector c;
    ASSERT_TRUE(c.feed_split(input, {i})) << "cut at " << i;
    EXPECT_EQ(c.contents(), whole.contents()) << "cut at " << i;
    EXPECT_EQ(c.framer.buffered(), 0u) << "cut at " << i;
  }
  for (size_t i = 0; i <= input.size(); ++i) {  // and into three pieces
    for (size_t j = i; j <= input.size(); ++j) {
      Collector c;
      ASSERT_TRUE(c.feed_split(input, {i, j})) << "cuts at " << i << ", " << j;
      ASSERT_EQ(c.contents(), whole.contents()) << "cuts at " << i << ", " << j;
      ASSERT_EQ(c.framer.buffered(), 0u) << "cuts at " << i << ", " << j;
    }
  }
}

TEST(StreamFramer, ChannelDataPaddingSplitAcrossFeeds) {
  for (size_t length = 1; length <= 5; ++length) {
    const Bytes frame = channel_frame(0x4000, length, static_cast<uint8_t>(0x10 * length));
    const Bytes after = stun_message(4, 0x99);
    const Bytes input = concat({on_wire(frame), after});
    EXPECT_EQ(on_wire(frame).size() % 4, 0u);
    // Every cut from inside the payload to the end of the padding, also into three pieces.
    for (size_t i = kChannelDataHeaderSize; i <= on_wire(frame).size(); ++i) {
      for (size_t j = i; j <= on_wire(frame).size(); ++j) {
        Collector c;
        ASSERT_TRUE(c.feed_split(input, {i, j}))
            << "length " << length << " cuts " << i << "," << j;
        EXPECT_EQ(c.contents(), (std::vector<Bytes>{frame, after}))
            << "length " << length << " cuts " << i << "," << j;
        EXPECT_EQ(c.framer.buffered(), 0u);
      }
    }
  }
}

TEST(StreamFramer, ChannelDataWhosePaddingArrivesInTheNextFeed) {
  for (size_t length : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{1001}}) {
    const Bytes frame = channel_frame(0x4123, length, 7);
    const Bytes wire = on_wire(frame);
    const size_t pad = wire.size() - frame.size();
    ASSERT_GT(pad, 0u);
    Collector c;
    // The read ends right after the payload: the frame is handed on at once, without a copy.
    ASSERT_TRUE(c.feed(ByteView(wire).first(frame.size())));
    ASSERT_EQ(c.frames.size(), 1u) << length;
    EXPECT_EQ(c.frames[0].bytes, frame);
    EXPECT_EQ(c.frames[0].data, wire.data());
    EXPECT_EQ(c.framer.buffered(), 0u);
    // Then the padding, followed by another frame in the same read.
    const Bytes next = channel_frame(0x4124, 4, 9);
    const Bytes rest =
        concat({Bytes(wire.begin() + static_cast<std::ptrdiff_t>(frame.size()), wire.end()), next});
    ASSERT_TRUE(c.feed(rest)) << "padding taken for a new frame, length " << length;
    ASSERT_EQ(c.frames.size(), 2u);
    EXPECT_EQ(c.frames[1].bytes, next);
    EXPECT_EQ(c.frames[1].data, rest.data() + pad);
    EXPECT_EQ(c.framer.buffered(), 0u);
  }
  // Only part of the padding in the first read, the rest one byte at a time.
  const Bytes frame = channel_frame(0x4000, 1, 3);  // 3 bytes of padding
  const Bytes wire = on_wire(frame);
  Collector c;
  ASSERT_TRUE(c.feed(ByteView(wire).first(frame.size() + 1)));
  ASSERT_TRUE(c.feed(ByteView(wire).subspan(frame.size() + 1, 1)));
  ASSERT_TRUE(c.feed(ByteView(wire).subspan(frame.size() + 2, 1)));
  const Bytes next = stun_message(0, 1);
  ASSERT_TRUE(c.feed(next));
  EXPECT_EQ(c.contents(), (std::vector<Bytes>{frame, next}));
}

TEST(StreamFramer, RejectsStreamsThatAreNotStunOrChannelData) {
  for (uint8_t first : {uint8_t{0x80}, uint8_t{0xC0}, uint8_t{0xBF}, uint8_t{0xFF}}) {
    const Bytes junk = {first, 0x01, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
    {
      Collector c;
      EXPECT_FALSE(c.feed(junk)) << int{first};
      EXPECT_TRUE(c.frames.empty());
    }
    {  // after a valid frame in the same read: the frame is delivered, then false
      Collector c;
      const Bytes good = stun_message(4, 1);
      EXPECT_FALSE(c.feed(concat({good, junk}))) << int{first};
      EXPECT_EQ(c.contents(), std::vector<Bytes>{good});
    }
    {  // after a buffered, split frame
      Collector c;
      const Bytes good = channel_frame(0x4000, 6, 1);
      const Bytes input = concat({on_wire(good), junk});
      EXPECT_TRUE(c.feed(ByteView(input).first(3)));
      EXPECT_FALSE(c.feed(ByteView(input).subspan(3))) << int{first};
      EXPECT_EQ(c.contents(), std::vector<Bytes>{good});
    }
    {  // one byte at a time: rejected once the 4-byte header is in, at the latest
      Collector c;
      bool ok = true;
      size_t i = 0;
      for (; i < junk.size() && ok; ++i) ok = c.feed(ByteView(junk).subspan(i, 1));
      EXPECT_FALSE(ok) << int{first};
      EXPECT_LE(i, 4u) << int{first};
    }
  }
  const Bytes http = {'G', 'E', 'T', ' ', '/',  ' ',  'H',  'T', 'T', 'P',
                      '/', '1', '.', '1', '\r', '\n', '\r', '\n'};  // 'G' = 0x47: 0b01, looks like
                                                                    // a ChannelData header
  Collector c;
  // Not detectable by the framer: "GE" reads as channel 0x4745 with length "T " = 0x5420, so it
  // waits for more (the connection's first-message deadline closes such a stream).
  EXPECT_TRUE(c.feed(http));
  EXPECT_TRUE(c.frames.empty());
  EXPECT_EQ(c.framer.buffered(), http.size());
}

TEST(StreamFramer, RejectsStunLengthNotAMultipleOf4) {
  for (uint16_t length : {uint16_t{1}, uint16_t{2}, uint16_t{3}, uint16_t{5}, uint16_t{0xFFFF}}) {
    Bytes m = stun_message(8, 0);
    m[2] = static_cast<uint8_t>(length >> 8);
    m[3] = static_cast<uint8_t>(length & 0xFF);
    {
      Collector c;
      EXPECT_FALSE(c.feed(m)) << length;
      EXPECT_TRUE(c.frames.empty());
    }
    {
      Collector c;
      bool ok = true;
      for (size_t i = 0; i < m.size() && ok; ++i) ok = c.feed(ByteView(m).subspan(i, 1));
      EXPECT_FALSE(ok) << length;
      EXPECT_TRUE(c.frames.empty());
    }
  }
}

TEST(StreamFramer, MaxSizeChannelDataAssembledFromPieces) {
  const Bytes frame = channel_frame(0x4FFF, 0xFFFF, 0x5A);
  ASSERT_EQ(frame.size(), 65539u);
  const Bytes after = channel_frame(0x4000, 2, 1);
  const Bytes input = concat({on_wire(frame), on_wire(after)});  // 65540 + 8 bytes
  for (size_t piece : {size_t{1}, size_t{3}, size_t{1000}, size_t{4096}, size_t{65536}}) {
    Collector c;
    size_t max_buffered = 0;
    for (size_t from = 0; from < input.size(); from += piece) {
      const size_t n = std::min(piece, input.size() - from);
      ASSERT_TRUE(c.feed(ByteView(input).subspan(from, n))) << "piece " << piece << " at " << from;
      max_buffered = std::max(max_buffered, c.framer.buffered());
    }
    ASSERT_EQ(c.frames.size(), 2u) << "piece " << piece;
    EXPECT_TRUE(c.frames[0].bytes == frame) << "piece " << piece;
    EXPECT_EQ(c.frames[1].bytes, after);
    EXPECT_LE(max_buffered, StreamFramer::kMaxFrame);
    EXPECT_EQ(c.framer.buffered(), 0u);
  }
  // And the largest STUN message (length 65532), split in two.
  const Bytes big = stun_message(65532, 0x42);
  Collector c;
  ASSERT_TRUE(c.feed_split(big, {30000}));
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_TRUE(c.frames[0].bytes == big);
  EXPECT_EQ(c.framer.buffered(), 0u);
}

TEST(StreamFramer, BufferedReturnsToZero) {
  const Bytes m = stun_message(40, 3);
  Collector c;
  EXPECT_EQ(c.framer.buffered(), 0u);
  ASSERT_TRUE(c.feed(ByteView(m).first(2)));  // not even a header yet
  EXPECT_EQ(c.framer.buffered(), 2u);
  ASSERT_TRUE(c.feed(ByteView(m).subspan(2, 23)));
  EXPECT_EQ(c.framer.buffered(), 25u);
  EXPECT_TRUE(c.frames.empty());
  ASSERT_TRUE(c.feed(ByteView(m).subspan(25)));
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.framer.buffered(), 0u);

  // The next frame, arriving whole, is a view again (nothing left over from the copy).
  const Bytes cd = on_wire(channel_frame(0x4000, 10, 1));
  ASSERT_TRUE(c.feed(cd));
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[1].data, cd.data());
  EXPECT_EQ(c.framer.buffered(), 0u);

  // A split ChannelData: buffered while incomplete, 0 once handed on (padding still to come).
  const Bytes cd2 = on_wire(channel_frame(0x4001, 9, 2));  // 13 bytes + 3 of padding
  ASSERT_TRUE(c.feed(ByteView(cd2).first(6)));
  EXPECT_EQ(c.framer.buffered(), 6u);
  ASSERT_TRUE(c.feed(ByteView(cd2).subspan(6, 8)));  // completes the frame + 1 padding byte
  EXPECT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.framer.buffered(), 0u);
  ASSERT_TRUE(c.feed(ByteView(cd2).subspan(14)));
  EXPECT_EQ(c.framer.buffered(), 0u);
  EXPECT_EQ(c.frames.size(), 3u);
}

}  // namespace
}  // namespace turnpike::stun
