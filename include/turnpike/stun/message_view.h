// Zero-copy parse of one STUN message (RFC 8489 §5, §14).
//
// A MessageView borrows the datagram it was parsed from: it and every ByteView it returns are
// valid only while that buffer is alive and unmodified. Parsing never allocates, never throws and
// never reads outside the given span.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "turnpike/stun/constants.h"
#include "turnpike/util/bytes.h"
#include "turnpike/util/result.h"

namespace turnpike::stun {

enum class ParseError : uint8_t {
  kTooShort,            // fewer than 20 bytes, or fewer than the header's length claims
  kNotStun,             // top two bits of the type are not 0b00
  kBadMagicCookie,      // RFC 8489 §6.3: not 0x2112A442
  kBadLength,           // length field not a multiple of 4, or not equal to the bytes present
  kTruncatedAttribute,  // an attribute's length runs past the end of the message
  kTooManyAttributes,   // more than kMaxAttributes attributes
  kBadFingerprint,      // FINGERPRINT present but wrong, or not the last attribute
  kBadAttributeValue,   // a typed decoder found a value of the wrong size or form
};
const char* to_string(ParseError e) noexcept;

// No default member initialisers on purpose: MessageView's index of these is left uninitialised
// past the attributes actually found (parse must not clear 240 bytes per message).
struct AttributeRef {
  uint16_t type;
  uint16_t offset;  // offset of the attribute's 4-byte header from the start of the message
  uint16_t length;  // value length, without padding
};

class MessageView {
 public:
  static constexpr size_t kMaxAttributes = 40;

  // User-provided on purpose: a defaulted one would make `MessageView{}` zero the whole index.
  MessageView() noexcept {}  // NOLINT(modernize-use-equals-default)
  // Copies only the attributes found (the rest of the index is never read).
  MessageView(const MessageView& other) noexcept { *this = other; }
  MessageView& operator=(const MessageView& other) noexcept {
    if (this == &other) return *this;
    raw_ = other.raw_;
    type_ = other.type_;
    count_ = other.count_;
    has_fingerprint_ = other.has_fingerprint_;
    mi_offset_ = other.mi_offset_;
    mi256_offset_ = other.mi256_offset_;
    for (size_t i = 0; i < count_; ++i) attrs_[i] = other.attrs_[i];
    return *this;
  }
  ~MessageView() = default;

  // Parses exactly one message: the span must hold the whole message and nothing after it (a UDP
  // datagram, or one frame cut by the stream framer). FINGERPRINT, when present, is verified here
  // (RFC 8489 §7.3: a message with a wrong FINGERPRINT is discarded).
  [[nodiscard]] static Result<MessageView, ParseError> parse(ByteView message) noexcept;

  // True when the first bytes look like a STUN header (top bits 00 and the magic cookie): cheap
  // demultiplexing test, RFC 8489 §7.
  static bool looks_like_stun(ByteView bytes) noexcept;

  [[nodiscard]] uint16_t type() const noexcept { return type_; }
  [[nodiscard]] Method method() const noexcept { return method_of(type_); }
  [[nodiscard]] Class message_class() const noexcept { return class_of(type_); }
  [[nodiscard]] ByteView transaction_id() const noexcept { return raw_.subspan(8, 12); }
  [[nodiscard]] ByteView raw() const noexcept { return raw_; }

  // Attributes that count: everything up to and including MESSAGE-INTEGRITY(-SHA256); after those,
  // only FINGERPRINT is kept (RFC 8489 §14.5/§14.6: others after the integrity are ignored).
  [[nodiscard]] std::span<const AttributeRef> attributes() const noexcept {
    return {attrs_.data(), count_};
  }
  // Value of the first attribute of this type, if present.
  [[nodiscard]] std::optional<ByteView> find(uint16_t type) const noexcept;
  [[nodiscard]] ByteView value(const AttributeRef& a) const noexcept {
    return raw_.subspan(a.offset + 4u, a.length);
  }

  // Offsets (from message start) of the integrity attributes' headers, if present.
  [[nodiscard]] std::optional<uint16_t> integrity_offset() const noexcept { return mi_offset_; }
  [[nodiscard]] std::optional<uint16_t> integrity_sha256_offset() const noexcept {
    return mi256_offset_;
  }
  [[nodiscard]] bool has_fingerprint() const noexcept { return has_fingerprint_; }

  // Comprehension-required attribute types this implementation does not understand (RFC 8489
  // §7.3.1: a request with any gets 420 with UNKNOWN-ATTRIBUTES). Writes up to out.size(); returns
  // how many were found.
  size_t unknown_required_attributes(std::span<uint16_t> out) const noexcept;

 private:
  static std::optional<ParseError> parse_into(ByteView message, MessageView& view) noexcept;

  ByteView raw_;
  uint16_t type_ = 0;
  uint8_t count_ = 0;
  bool has_fingerprint_ = false;
  std::optional<uint16_t> mi_offset_;
  std::optional<uint16_t> mi256_offset_;
  std::array<AttributeRef, kMaxAttributes> attrs_;  // [0, count_) are set
};

}  // namespace turnpike::stun
