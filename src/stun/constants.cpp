#include "turnpike/stun/constants.h"

namespace turnpike::stun {

std::string_view reason_phrase(uint16_t code) noexcept {
  switch (code) {
    case error::kTryAlternate:
      return "Try Alternate";
    case error::kBadRequest:
      return "Bad Request";
    case error::kUnauthorized:
      return "Unauthorized";
    case error::kForbidden:
      return "Forbidden";
    case error::kUnknownAttribute:
      return "Unknown Attribute";
    case error::kAllocationMismatch:
      return "Allocation Mismatch";
    case error::kStaleNonce:
      return "Stale Nonce";
    case error::kAddressFamilyNotSupported:
      return "Address Family not Supported";
    case error::kWrongCredentials:
      return "Wrong Credentials";
    case error::kUnsupportedTransportProtocol:
      return "Unsupported Transport Protocol";
    case error::kPeerAddressFamilyMismatch:
      return "Peer Address Family Mismatch";
    case error::kAllocationQuotaReached:
      return "Allocation Quota Reached";
    case error::kServerError:
      return "Server Error";
    case error::kInsufficientCapacity:
      return "Insufficient Capacity";
    default:
      return "";
  }
}

}  // namespace turnpike::stun
