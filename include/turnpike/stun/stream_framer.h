// Cuts a TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8489 §6.2.2: STUN over
// streams is self-delimiting by its length field; RFC 8656 §12.5: over streams a ChannelData
// message is padded to a multiple of 4 bytes).
//
// Zero-copy when it can be: a frame that lies whole in the bytes just read is handed on as a view
// into them; only a frame split across reads is assembled in the framer's own buffer, which is
// bounded by the largest frame (65,555 bytes).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/constants.h"
#include "turnpike/util/bytes.h"

namespace turnpike::stun {

class StreamFramer {
 public:
  static constexpr size_t kMaxFrame = kHeaderSize + 0xFFFF;

  // Feeds bytes read from the stream and calls on_frame(ByteView) for every complete frame (a
  // whole STUN message, or a ChannelData header + data without its padding). Returns false when
  // the stream cannot be STUN/ChannelData (first two bits 0b10/0b11, or a STUN length that is not a
  // multiple of 4): the caller should close the connection. The view passed to on_frame is valid
  // only during the call.
  template <typename OnFrame>
  bool feed(ByteView bytes, OnFrame&& on_frame);

  [[nodiscard]] size_t buffered() const noexcept { return buffer_.size(); }

 private:
  // Size of the frame starting at `p` (wire size incl. padding in *wire), 0 = need more header
  // bytes, SIZE_MAX = not a valid stream.
  static size_t frame_size(const uint8_t* p, size_t available, size_t* wire) noexcept;
  std::vector<uint8_t> buffer_;
  size_t skip_ = 0;  // padding bytes still to drop after the last ChannelData frame
};

inline size_t StreamFramer::frame_size(const uint8_t* p, size_t available, size_t* wire) noexcept {
  if (available < 4) return 0;
  const uint8_t kind = p[0] & 0xC0;
  const size_t length = load_be16(p + 2);
  if (kind == 0x00) {
    if ((length & 3) != 0) return SIZE_MAX;
    *wire = kHeaderSize + length;
    return *wire;
  }
  if (kind == 0x40) {
    *wire = kChannelDataHeaderSize + ((length + 3) & ~size_t{3});
    return kChannelDataHeaderSize + length;
  }
  return SIZE_MAX;
}

template <typename OnFrame>
bool StreamFramer::feed(ByteView bytes, OnFrame&& on_frame) {
  while (!bytes.empty()) {
    if (skip_ > 0) {  // padding of a ChannelData frame split across reads
      const size_t n = std::min(skip_, bytes.size());
      skip_ -= n;
      bytes = bytes.subspan(n);
      continue;
    }
    size_t wire = 0;
    if (buffer_.empty()) {
      const size_t size = frame_size(bytes.data(), bytes.size(), &wire);
      if (size == SIZE_MAX) return false;
      if (size != 0 && wire <= bytes.size()) {  // whole frame in this read: no copy
        on_frame(bytes.first(size));
        bytes = bytes.subspan(wire);
        continue;
      }
      if (size != 0 && size <= bytes.size()) {  // whole frame, only padding missing
        on_frame(bytes.first(size));
        skip_ = wire - bytes.size();
        return true;
      }
    }
    // Assemble a split frame: first enough for the header, then the rest.
    const size_t header_need = buffer_.size() < 4 ? 4 - buffer_.size() : 0;
    if (header_need > 0) {
      const size_t n = std::min(header_need, bytes.size());
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      bytes = bytes.subspan(n);
      if (buffer_.size() < 4) return true;
    }
    const size_t size = frame_size(buffer_.data(), buffer_.size(), &wire);
    if (size == SIZE_MAX) return false;
    const size_t n = std::min(size - buffer_.size(), bytes.size());
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);
    if (buffer_.size() < size) return true;
    on_frame(ByteView(buffer_.data(), size));
    buffer_.clear();
    skip_ = wire - size;
  }
  return true;
}

}  // namespace turnpike::stun
