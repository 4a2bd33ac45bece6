// libFuzzer target: the TCP/TLS stream framer (RFC 8489 §6.2.2, RFC 8656 §12.5) and ChannelData
// parsing. The input is a byte stream; its first byte seeds how it is cut into reads (1 byte at a
// time, random sizes, or all at once). Whatever the cuts, the framer must produce exactly the same
// frames as when fed the whole stream at once, and each frame must be a STUN message header +
// length or a ChannelData header + length (padding stripped).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/stream_framer.h"

using namespace turnpike;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

struct Run {
  std::vector<std::vector<uint8_t>> frames;
  bool ok = true;
};

Run feed(ByteView stream, uint32_t seed, int mode) {
  Run run;
  stun::StreamFramer framer;
  size_t at = 0;
  uint32_t x = seed | 1;
  while (at < stream.size() && run.ok) {
    size_t n = stream.size() - at;
    if (mode == 1) n = 1;
    if (mode == 2) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      n = std::min<size_t>(n, 1 + x % 97);
    }
    run.ok = framer.feed(stream.subspan(at, n), [&](ByteView frame) {
      check(frame.size() >= 4 && frame.size() <= stun::StreamFramer::kMaxFrame);
      const size_t length = load_be16(frame.data() + 2);
      if ((frame[0] & 0xC0) == 0x40) {
        check(frame.size() == stun::kChannelDataHeaderSize + length);
        (void)stun::parse_channel_data(frame);
      } else {
        check((frame[0] & 0xC0) == 0x00 && frame.size() == stun::kHeaderSize + length);
        (void)stun::MessageView::parse(frame);
      }
      run.frames.emplace_back(frame.begin(), frame.end());
    });
    check(framer.buffered() <= stun::StreamFramer::kMaxFrame);
    at += n;
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint32_t seed = data[0];
  const ByteView stream(data + 1, size - 1);
  const Run whole = feed(stream, seed, 0);
  for (const int mode : {1, 2}) {
    const Run cut = feed(stream, seed * 2654435761u, mode);
    // Frames delivered before an error are the same; a stream rejected whole is rejected cut
    // (the cut run may stop earlier only by rejecting at the same frame).
    check(cut.ok == whole.ok);
    check(cut.frames == whole.frames);
  }
  return 0;
}
