// Builds one STUN message into a caller-owned buffer (RFC 8489 §5, §14). The buffer is reused
// between messages by the caller, so steady-state building does not allocate.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "turnpike/stun/constants.h"
#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::stun {

class MessageBuilder {
 public:
  // Clears `buffer` and writes the 20-byte header (length fixed up as attributes are added).
  MessageBuilder(std::vector<uint8_t>& buffer, uint16_t type, ByteView transaction_id);

  void add(uint16_t type, ByteView value);  // adds zero padding to a multiple of 4
  void add_string(uint16_t type, std::string_view value) { add(type, as_bytes(value)); }
  void add_u32(uint16_t type, uint32_t value);
  void add_xor_address(uint16_t type, const SocketAddress& address);
  void add_address(uint16_t type, const SocketAddress& address);  // MAPPED-ADDRESS form
  // ERROR-CODE (RFC 8489 §14.8); an empty reason uses reason_phrase(code).
  void add_error_code(uint16_t code, std::string_view reason = {});
  void add_unknown_attributes(std::span<const uint16_t> types);
  // PASSWORD-ALGORITHMS (RFC 8489 §14.11), each with empty parameters.
  void add_password_algorithms(std::span<const PasswordAlgorithm> algorithms);

  // MESSAGE-INTEGRITY: HMAC-SHA1 with `key` over the message so far, the header length counting
  // the attribute itself (RFC 8489 §14.5).
  void add_message_integrity(ByteView key);
  // MESSAGE-INTEGRITY-SHA256, full 32-byte HMAC-SHA256 (RFC 8489 §14.6).
  void add_message_integrity_sha256(ByteView key);
  // FINGERPRINT (RFC 8489 §14.7). Must be the last attribute.
  void add_fingerprint();

  [[nodiscard]] ByteView bytes() const noexcept { return {buffer_.data(), buffer_.size()}; }

 private:
  void set_length(size_t attributes_length) noexcept;
  std::vector<uint8_t>& buffer_;
};

}  // namespace turnpike::stun
