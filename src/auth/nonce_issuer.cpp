// Nonce layout (29 characters, all in [A-Za-z0-9+/], so valid STUN NONCE qdtext):
//   "obMatJos2"                         RFC 8489 §9.2 nonce cookie
//   base64(features, 3 bytes BE)        4 chars: the 24-bit security feature set
//   base64(expiry_s BE32 || mac[0..8])  16 chars: opaque part
// mac = HMAC-SHA256(key, label || features || expiry || family || client port || client IP bytes),
// truncated to 8 bytes (64 bits: a forgery is one online guess in 2^64, each a request the
// unauthenticated limit charges). The expiry is in whole seconds of the monotonic clock, rounded
// up (UINT32_MAX: never). Short on purpose: the nonce is most of a 401, the answer to anyone.
// 3 and 12 bytes encode to base64 without padding, and with no spare bits, so every nonce has
// exactly one spelling: a changed character always changes the decoded bytes.
#include "turnpike/auth/nonce_issuer.h"

#include <algorithm>
#include <limits>

#include "turnpike/stun/constants.h"
#include "turnpike/util/constant_time.h"
#include "turnpike/util/crypto.h"

namespace turnpike::auth {
namespace {

constexpr size_t kFeatureChars = 4;
constexpr size_t kFeatureBytes = 3;
constexpr size_t kMacBytes = 8;
constexpr size_t kExpiryBytes = 4;
constexpr size_t kOpaqueBytes = kExpiryBytes + kMacBytes;
constexpr size_t kOpaqueChars = kOpaqueBytes / 3 * 4;
constexpr size_t kNonceSize = stun::kNonceCookie.size() + kFeatureChars + kOpaqueChars;
constexpr std::string_view kMacLabel = "turnpike-nonce-v2";
constexpr uint32_t kNever = std::numeric_limits<uint32_t>::max();

using Mac = std::array<uint8_t, kMacBytes>;

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict decoder for unpadded base64 whose length is a multiple of 4 (no allocation, no '=').
bool decode_base64(std::string_view text, uint8_t* out, size_t out_size) noexcept {
  if (text.size() % 4 != 0 || text.size() / 4 * 3 != out_size) return false;
  for (size_t i = 0, o = 0; i < text.size(); i += 4, o += 3) {
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const int v = base64_value(text[i + j]);
      if (v < 0) return false;
      group = (group << 6) | static_cast<uint32_t>(v);
    }
    out[o] = static_cast<uint8_t>(group >> 16);
    out[o + 1] = static_cast<uint8_t>(group >> 8);
    out[o + 2] = static_cast<uint8_t>(group);
  }
  return true;
}

// The expiry in whole seconds, rounded up (a nonce never lives shorter than asked), saturated.
uint32_t expiry_seconds(int64_t expiry_ms) noexcept {
  if (expiry_ms <= 0) return 0;
  const int64_t seconds = expiry_ms / 1000 + (expiry_ms % 1000 != 0 ? 1 : 0);
  return seconds >= int64_t{kNever} ? kNever : static_cast<uint32_t>(seconds);
}

Mac compute_mac(ByteView key, const uint8_t* features, const uint8_t* expiry,
                const SocketAddress& client) noexcept {
  // RFC 8489 §9.2.4: the same nonce only for the same source IP address and port.
  const uint8_t address_head[3] = {static_cast<uint8_t>(client.ip.family),
                                   static_cast<uint8_t>(client.port >> 8),
                                   static_cast<uint8_t>(client.port)};
  const ByteView parts[] = {as_bytes(kMacLabel), ByteView(features, kFeatureBytes),
                            ByteView(expiry, kExpiryBytes), ByteView(address_head, 3),
                            ByteView(client.ip.bytes.data(), client.ip.size())};
  const crypto::Sha256Digest full = crypto::hmac_sha256(key, parts);
  Mac mac{};
  std::copy_n(full.begin(), mac.size(), mac.begin());
  return mac;
}

int64_t saturating_add(int64_t a, int64_t b) noexcept {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

}  // namespace

NonceIssuer::NonceIssuer(ByteView key, Millis validity_ms) : validity_ms_(validity_ms) {
  if (key.size() > key_.size()) {
    key_ = crypto::sha256(key);  // longer keys are condensed to fit
    key_size_ = key_.size();
  } else {
    std::copy(key.begin(), key.end(), key_.begin());
    key_size_ = key.size();
  }
}

std::string NonceIssuer::issue(Millis now, const SocketAddress& client, uint32_t features) const {
  uint8_t feature_bytes[kFeatureBytes] = {static_cast<uint8_t>(features >> 16),
                                          static_cast<uint8_t>(features >> 8),
                                          static_cast<uint8_t>(features)};
  std::array<uint8_t, kOpaqueBytes> opaque{};
  store_be32(opaque.data(), expiry_seconds(saturating_add(now, validity_ms_)));
  const Mac mac =
      compute_mac(ByteView(key_.data(), key_size_), feature_bytes, opaque.data(), client);
  std::copy(mac.begin(), mac.end(), opaque.begin() + kExpiryBytes);

  std::string nonce;
  nonce.reserve(kNonceSize);
  nonce.append(stun::kNonceCookie);
  nonce.append(crypto::base64_encode(ByteView(feature_bytes, kFeatureBytes)));
  nonce.append(crypto::base64_encode(opaque));
  return nonce;
}

NonceIssuer::Check NonceIssuer::check(std::string_view nonce, Millis now,
                                      const SocketAddress& client) const {
  if (nonce.size() != kNonceSize || !nonce.starts_with(stun::kNonceCookie)) return Check::kInvalid;
  const std::string_view rest = nonce.substr(stun::kNonceCookie.size());
  uint8_t feature_bytes[kFeatureBytes] = {};
  std::array<uint8_t, kOpaqueBytes> opaque{};
  if (!decode_base64(rest.substr(0, kFeatureChars), feature_bytes, kFeatureBytes) ||
      !decode_base64(rest.substr(kFeatureChars), opaque.data(), opaque.size())) {
    return Check::kInvalid;
  }
  const Mac expected =
      compute_mac(ByteView(key_.data(), key_size_), feature_bytes, opaque.data(), client);
  if (!constant_time_equal(expected, ByteView(opaque.data() + kExpiryBytes, kMacBytes))) {
    return Check::kInvalid;
  }
  const uint32_t expiry_s = load_be32(opaque.data());
  if (expiry_s == kNever) return Check::kValid;
  return int64_t{expiry_s} * 1000 < now ? Check::kStale : Check::kValid;
}

uint32_t NonceIssuer::features_of(std::string_view nonce) noexcept {
  if (nonce.size() < stun::kNonceCookie.size() + kFeatureChars ||
      !nonce.starts_with(stun::kNonceCookie)) {
    return 0;
  }
  uint8_t b[kFeatureBytes] = {};
  if (!decode_base64(nonce.substr(stun::kNonceCookie.size(), kFeatureChars), b, kFeatureBytes)) {
    return 0;
  }
  return (uint32_t{b[0]} << 16) | (uint32_t{b[1]} << 8) | uint32_t{b[2]};
}

}  // namespace turnpike::auth
