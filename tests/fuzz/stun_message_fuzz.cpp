// libFuzzer target: one datagram through the STUN parser (MessageView::parse, FINGERPRINT check),
// every typed attribute decoder on every attribute, the unknown-attribute scan, and both
// MESSAGE-INTEGRITY checks under a short-term and a long-term key. Nothing may crash, read out of
// bounds or trip UBSan; the invariants below must hold for every accepted message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "turnpike/auth/long_term_key.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_view.h"

using namespace turnpike;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView bytes(data, size);
  (void)stun::MessageView::looks_like_stun(bytes);
  if (stun::looks_like_channel_data(bytes)) {
    if (const auto frame = stun::parse_channel_data(bytes)) {
      check(frame->payload.size() + stun::kChannelDataHeaderSize <= size);
    }
  }
  const auto parsed = stun::MessageView::parse(bytes);
  if (!parsed) return 0;
  const stun::MessageView& m = *parsed;
  check(m.raw().size() == size && m.transaction_id().size() == 12);
  const ByteView tid = m.transaction_id();
  for (const stun::AttributeRef& a : m.attributes()) {
    const ByteView v = m.value(a);
    check(v.data() >= data && v.data() + v.size() <= data + size);
    (void)stun::decode_xor_address(v, tid);
    (void)stun::decode_address(v);
    if (const auto e = stun::decode_error_code(v)) check(e->code >= 300 && e->code <= 699);
    (void)stun::decode_u32(v);
    (void)stun::decode_channel_number(v);
    (void)stun::decode_requested_transport(v);
    (void)stun::decode_address_family(v);
    (void)stun::decode_password_algorithm(v);
  }
  for (const uint16_t type : {stun::attr::kUsername, stun::attr::kRealm, stun::attr::kNonce,
                              stun::attr::kXorPeerAddress, stun::attr::kLifetime}) {
    (void)m.find(type);
  }
  uint16_t unknown[8] = {};
  check(m.unknown_required_attributes(unknown) <= 8);
  static const auto long_term =
      auth::long_term_key(stun::PasswordAlgorithm::kMd5, "alice", "turnpike", "alice-secret");
  static const auto sha256_key =
      auth::long_term_key(stun::PasswordAlgorithm::kSha256, "alice", "turnpike", "alice-secret");
  constexpr std::string_view kShortTerm = "VOkJxbRl1RmTxUk/WvJxBt";  // RFC 5769
  (void)stun::verify_message_integrity(m, long_term.view());
  (void)stun::verify_message_integrity(m, as_bytes(kShortTerm));
  (void)stun::verify_message_integrity_sha256(m, sha256_key.view());
  (void)stun::fingerprint_of(bytes);
  return 0;
}
