// Typed decoders for attribute values (RFC 8489 §14, RFC 8656 §18). Each takes the value bytes (as
// returned by MessageView::find) and returns a value or ParseError::kBadAttributeValue.
#pragma once

#include <cstdint>
#include <string_view>

#include "turnpike/stun/message_view.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::stun {

// XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (RFC 8489 §14.2).
Result<SocketAddress, ParseError> decode_xor_address(ByteView value, ByteView transaction_id) noexcept;
// MAPPED-ADDRESS (RFC 8489 §14.1).
Result<SocketAddress, ParseError> decode_address(ByteView value) noexcept;

struct ErrorCodeValue {
  uint16_t code = 0;
  std::string_view reason;
};
Result<ErrorCodeValue, ParseError> decode_error_code(ByteView value) noexcept;

// 32-bit big-endian value (LIFETIME, CONNECTION-ID).
Result<uint32_t, ParseError> decode_u32(ByteView value) noexcept;
// CHANNEL-NUMBER: 2-byte number + 2 RFFU bytes (RFC 8656 §18.1).
Result<uint16_t, ParseError> decode_channel_number(ByteView value) noexcept;
// REQUESTED-TRANSPORT: protocol byte + 3 RFFU bytes (RFC 8656 §18.7). Returns the protocol number.
Result<uint8_t, ParseError> decode_requested_transport(ByteView value) noexcept;
// REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY: family byte + 3 RFFU (RFC 8656 §18.8/18.11).
Result<Family, ParseError> decode_address_family(ByteView value) noexcept;
// PASSWORD-ALGORITHM (RFC 8489 §14.12): algorithm(2) + params length(2) + params (padded).
Result<PasswordAlgorithm, ParseError> decode_password_algorithm(ByteView value) noexcept;

}  // namespace turnpike::stun
