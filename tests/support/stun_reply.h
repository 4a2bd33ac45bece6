// A STUN message the server sent, copied and decoded once into plain fields (error code,
// addresses, LIFETIME, NONCE, ...), with its MESSAGE-INTEGRITY(-SHA256) checked against a key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "turnpike/auth/long_term_key.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_view.h"

namespace turnpike::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

struct Reply {
  Bytes bytes;
  bool parsed = false;  // MessageView::parse accepted it (FINGERPRINT included, when present)
  stun::Method method = stun::Method::kBinding;
  stun::Class cls = stun::Class::kRequest;
  Bytes transaction_id;
  uint16_t error = 0;  // ERROR-CODE, 0 when absent
  std::string reason;
  std::optional<SocketAddress> relayed;  // XOR-RELAYED-ADDRESS
  std::optional<SocketAddress> mapped;   // XOR-MAPPED-ADDRESS
  std::optional<SocketAddress> peer;     // XOR-PEER-ADDRESS
  std::optional<uint32_t> lifetime;
  std::optional<std::string> realm;
  std::optional<std::string> nonce;
  std::optional<std::string> software;
  std::optional<Bytes> password_algorithms;
  std::optional<Bytes> reservation_token;
  std::optional<Bytes> data;
  std::optional<Bytes> address_error_code;
  std::vector<uint16_t> unknown_attributes;
  bool has_integrity = false;
  bool has_integrity_sha256 = false;
  bool has_fingerprint = false;
  stun::IntegrityStatus integrity = stun::IntegrityStatus::kNoIntegrity;
  stun::IntegrityStatus integrity_sha256 = stun::IntegrityStatus::kNoIntegrity;

  [[nodiscard]] bool is_success() const { return parsed && cls == stun::Class::kSuccess; }
  [[nodiscard]] bool is_error(uint16_t code) const {
    return parsed && cls == stun::Class::kError && error == code;
  }

  // Decodes a copy of `message`; integrity is checked with `key` when given.
  static Reply decode(ByteView message, const std::optional<auth::Key>& key = std::nullopt) {
    Reply r;
    r.bytes.assign(message.begin(), message.end());
    const auto parsed = stun::MessageView::parse(r.bytes);
    if (!parsed) return r;
    const stun::MessageView& m = *parsed;
    r.parsed = true;
    r.method = m.method();
    r.cls = m.message_class();
    r.transaction_id.assign(m.transaction_id().begin(), m.transaction_id().end());
    const ByteView tid = m.transaction_id();
    if (const auto v = m.find(stun::attr::kErrorCode)) {
      if (const auto e = stun::decode_error_code(*v)) {
        r.error = e->code;
        r.reason.assign(e->reason);
      } else {
        r.error = 1;  // present but malformed: never a valid code
      }
    }
    const auto xor_address = [&](uint16_t type) -> std::optional<SocketAddress> {
      const auto v = m.find(type);
      if (!v) return std::nullopt;
      const auto a = stun::decode_xor_address(*v, tid);
      if (!a) return std::nullopt;
      return *a;
    };
    r.relayed = xor_address(stun::attr::kXorRelayedAddress);
    r.mapped = xor_address(stun::attr::kXorMappedAddress);
    r.peer = xor_address(stun::attr::kXorPeerAddress);
    if (const auto v = m.find(stun::attr::kLifetime)) {
      if (const auto s = stun::decode_u32(*v)) r.lifetime = *s;
    }
    const auto text = [&](uint16_t type) -> std::optional<std::string> {
      const auto v = m.find(type);
      if (!v) return std::nullopt;
      return std::string(as_string_view(*v));
    };
    const auto raw = [&](uint16_t type) -> std::optional<Bytes> {
      const auto v = m.find(type);
      if (!v) return std::nullopt;
      return Bytes(v->begin(), v->end());
    };
    r.realm = text(stun::attr::kRealm);
    r.nonce = text(stun::attr::kNonce);
    r.software = text(stun::attr::kSoftware);
    r.password_algorithms = raw(stun::attr::kPasswordAlgorithms);
    r.reservation_token = raw(stun::attr::kReservationToken);
    r.data = raw(stun::attr::kData);
    r.address_error_code = raw(stun::attr::kAddressErrorCode);
    if (const auto v = m.find(stun::attr::kUnknownAttributes)) {
      for (size_t i = 0; i + 1 < v->size(); i += 2) {
        r.unknown_attributes.push_back(load_be16(v->data() + i));
      }
    }
    r.has_integrity = m.integrity_offset().has_value();
    r.has_integrity_sha256 = m.integrity_sha256_offset().has_value();
    r.has_fingerprint = m.has_fingerprint();
    if (key) {
      r.integrity = stun::verify_message_integrity(m, key->view());
      r.integrity_sha256 = stun::verify_message_integrity_sha256(m, key->view());
    }
    return r;
  }
};

}  // namespace turnpike::testing
