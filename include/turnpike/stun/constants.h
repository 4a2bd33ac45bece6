// STUN/TURN wire constants: RFC 8489 §5/§18, RFC 8656 §18, RFC 6062 §6.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace turnpike::stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;
inline constexpr size_t kHeaderSize = 20;
inline constexpr size_t kTransactionIdSize = 12;
inline constexpr uint32_t kFingerprintXor = 0x5354554E;  // RFC 8489 §14.7

using TransactionId = std::array<uint8_t, kTransactionIdSize>;

enum class Method : uint16_t {
  kBinding = 0x001,
  kAllocate = 0x003,
  kRefresh = 0x004,
  kSend = 0x006,
  kData = 0x007,
  kCreatePermission = 0x008,
  kChannelBind = 0x009,
  kConnect = 0x00A,
  kConnectionBind = 0x00B,
  kConnectionAttempt = 0x00C,
};

enum class Class : uint8_t { kRequest = 0, kIndication = 1, kSuccess = 2, kError = 3 };

// RFC 8489 §5: the class bits C1 C0 sit at bits 8 and 4 of the 14-bit type, the method around them.
constexpr uint16_t make_type(Method m, Class c) noexcept {
  const auto mv = static_cast<uint16_t>(m);
  const auto cv = static_cast<uint16_t>(c);
  return static_cast<uint16_t>((mv & 0x000F) | ((mv & 0x0070) << 1) | ((mv & 0x0F80) << 2) |
                               ((cv & 0x1) << 4) | ((cv & 0x2) << 7));
}
constexpr Method method_of(uint16_t type) noexcept {
  return static_cast<Method>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
constexpr Class class_of(uint16_t type) noexcept {
  return static_cast<Class>(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
}

namespace attr {
// Comprehension-required (0x0000-0x7FFF).
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kUnknownAttributes = 0x000A;
inline constexpr uint16_t kChannelNumber = 0x000C;
inline constexpr uint16_t kLifetime = 0x000D;
inline constexpr uint16_t kXorPeerAddress = 0x0012;
inline constexpr uint16_t kData = 0x0013;
inline constexpr uint16_t kRealm = 0x0014;
inline constexpr uint16_t kNonce = 0x0015;
inline constexpr uint16_t kXorRelayedAddress = 0x0016;
inline constexpr uint16_t kRequestedAddressFamily = 0x0017;
inline constexpr uint16_t kEvenPort = 0x0018;
inline constexpr uint16_t kRequestedTransport = 0x0019;
inline constexpr uint16_t kDontFragment = 0x001A;
inline constexpr uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr uint16_t kPasswordAlgorithm = 0x001D;
inline constexpr uint16_t kUserhash = 0x001E;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kReservationToken = 0x0022;
inline constexpr uint16_t kConnectionId = 0x002A;
// Comprehension-optional (0x8000-0xFFFF).
inline constexpr uint16_t kAdditionalAddressFamily = 0x8000;
inline constexpr uint16_t kAddressErrorCode = 0x8001;
inline constexpr uint16_t kPasswordAlgorithms = 0x8002;
inline constexpr uint16_t kAlternateDomain = 0x8003;
inline constexpr uint16_t kIcmp = 0x8004;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kAlternateServer = 0x8023;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kResponseOrigin = 0x802B;
inline constexpr uint16_t kOtherAddress = 0x802C;

constexpr bool is_comprehension_required(uint16_t type) noexcept { return type < 0x8000; }
}  // namespace attr

namespace error {
inline constexpr uint16_t kTryAlternate = 300;
inline constexpr uint16_t kBadRequest = 400;
inline constexpr uint16_t kUnauthorized = 401;
inline constexpr uint16_t kForbidden = 403;
inline constexpr uint16_t kUnknownAttribute = 420;
inline constexpr uint16_t kAllocationMismatch = 437;
inline constexpr uint16_t kStaleNonce = 438;
inline constexpr uint16_t kAddressFamilyNotSupported = 440;
inline constexpr uint16_t kWrongCredentials = 441;
inline constexpr uint16_t kUnsupportedTransportProtocol = 442;
inline constexpr uint16_t kPeerAddressFamilyMismatch = 443;
inline constexpr uint16_t kAllocationQuotaReached = 486;
inline constexpr uint16_t kServerError = 500;
inline constexpr uint16_t kInsufficientCapacity = 508;
}  // namespace error

// The reason phrase the RFCs suggest for a code ("" for an unknown code).
std::string_view reason_phrase(uint16_t code) noexcept;

// RFC 8489 §17.5 / §18.5: PASSWORD-ALGORITHM values.
enum class PasswordAlgorithm : uint16_t { kMd5 = 0x0001, kSha256 = 0x0002 };

// RFC 8489 §9.2: the nonce cookie that marks a nonce carrying the security feature set.
inline constexpr std::string_view kNonceCookie = "obMatJos2";

}  // namespace turnpike::stun
