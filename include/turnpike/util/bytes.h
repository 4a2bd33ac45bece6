// Byte views and bounds-checked readers/writers used by every parser and builder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace turnpike {

// A borrowed, read-only view of bytes. Never owns; valid only while the buffer it points into lives.
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

inline ByteView as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string_view(ByteView b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline uint16_t load_be16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Appends big-endian fields to a growable buffer. Used on the control path (responses), where the
// buffer is a reused scratch vector, so steady-state building does not allocate.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) noexcept : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    const size_t at = grow(2);
    store_be16(out_.data() + at, v);
  }
  void u32(uint32_t v) {
    const size_t at = grow(4);
    store_be32(out_.data() + at, v);
  }
  void bytes(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void zeros(size_t n) { out_.insert(out_.end(), n, uint8_t{0}); }
  [[nodiscard]] size_t size() const noexcept { return out_.size(); }
  std::vector<uint8_t>& buffer() noexcept { return out_; }

 private:
  size_t grow(size_t n) {
    const size_t at = out_.size();
    out_.resize(at + n);
    return at;
  }
  std::vector<uint8_t>& out_;
};

}  // namespace turnpike
