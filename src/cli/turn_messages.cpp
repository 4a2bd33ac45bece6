#include "turn_messages.h"

#include <cstdlib>

#include "turnpike/stun/attributes.h"
#include "turnpike/util/crypto.h"

namespace turnpike::cli {

stun::TransactionId new_transaction_id() {
  stun::TransactionId id{};
  if (!crypto::random_bytes(id)) {
    // Without a CSPRNG nothing here is trustworthy; the CLI cannot continue meaningfully.
    std::abort();
  }
  return id;
}

bool LongTermAuth::absorb_challenge(const stun::MessageView& response) {
  const auto realm_attr = response.find(stun::attr::kRealm);
  const auto nonce_attr = response.find(stun::attr::kNonce);
  if (!realm_attr || !nonce_attr || nonce_attr->empty()) return false;
  const std::string_view new_realm = as_string_view(*realm_attr);
  if (new_realm != realm || key.size == 0) {
    realm.assign(new_realm);
    key = auth::long_term_key(stun::PasswordAlgorithm::kMd5, username, realm, password);
  }
  nonce.assign(as_string_view(*nonce_attr));
  return true;
}

void LongTermAuth::sign(stun::MessageBuilder& b) const {
  b.add_string(stun::attr::kUsername, username);
  b.add_string(stun::attr::kRealm, realm);
  b.add_string(stun::attr::kNonce, nonce);
  b.add_message_integrity(key.view());
  b.add_fingerprint();
}

ResponseSummary summarize(const stun::MessageView& response) noexcept {
  ResponseSummary out;
  out.cls = response.message_class();
  if (out.cls != stun::Class::kError) return out;
  if (const auto value = response.find(stun::attr::kErrorCode)) {
    if (const auto ec = stun::decode_error_code(*value)) {
      out.error_code = ec->code;
      out.reason = ec->reason;
    }
  }
  return out;
}

const char* method_name(stun::Method m) noexcept {
  switch (m) {
    case stun::Method::kBinding:
      return "Binding";
    case stun::Method::kAllocate:
      return "Allocate";
    case stun::Method::kRefresh:
      return "Refresh";
    case stun::Method::kSend:
      return "Send";
    case stun::Method::kData:
      return "Data";
    case stun::Method::kCreatePermission:
      return "CreatePermission";
    case stun::Method::kChannelBind:
      return "ChannelBind";
    default:
      return "request";
  }
}

}  // namespace turnpike::cli
