// A TURN client for core tests: builds requests with MessageBuilder, does the long-term credential
// exchange (401 -> retry with USERNAME/REALM/NONCE/MESSAGE-INTEGRITY, 438 -> retry with the fresh
// nonce), and decodes what the server answered, checking its integrity with the client's key.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/harness.h"
#include "turnpike/stun/message_builder.h"

namespace turnpike::testing {

using Attrs = std::function<void(stun::MessageBuilder&)>;

class TestClient {
 public:
  TestClient(Harness& harness, FiveTuple five_tuple, std::string user = std::string(kAlice),
             std::string pass = std::string(kAlicePassword))
      : tuple(five_tuple), username(std::move(user)), password(std::move(pass)), h_(harness) {}

  // ---- what the client sends
  FiveTuple tuple;
  std::string username;
  std::string password;
  // RFC 8489 §9.2 security features; all off = a classic RFC 5389 client (MD5, MESSAGE-INTEGRITY).
  bool use_sha256 = false;    // echo PASSWORD-ALGORITHMS, PASSWORD-ALGORITHM SHA-256, MI-SHA256
  bool use_userhash = false;  // USERHASH instead of USERNAME
  bool send_nonce = true;
  bool send_algorithms_list = true;          // with use_sha256: include PASSWORD-ALGORITHMS
  std::optional<Bytes> algorithms_override;  // with use_sha256: send this instead of the echo
  // Bytes of SOFTWARE added to unauthenticated requests. Over UDP the server keeps a challenge no
  // larger than the request, so an RFC 8489 client that wants PASSWORD-ALGORITHMS offered pads
  // its first request.
  size_t pad_unauthenticated = 0;
  // ---- what the last 401/438 taught the client
  std::string realm;
  std::string nonce;
  Bytes offered_algorithms;
  // ---- the allocation, once an Allocate succeeded
  std::optional<SocketAddress> relayed;

  [[nodiscard]] auth::Key key() const {
    return auth::long_term_key(
        use_sha256 ? stun::PasswordAlgorithm::kSha256 : stun::PasswordAlgorithm::kMd5, username,
        realm, password);
  }

  static stun::TransactionId next_transaction_id() {
    static uint64_t counter = 0;
    ++counter;
    stun::TransactionId id{0x54, 0x50, 0x4b, 0x21};  // "TPK!" + 64-bit counter
    for (size_t i = 0; i < 8; ++i) id[4 + i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
    return id;
  }

  // A request (or indication, by `cls`) with `attrs`, then the credentials when `authenticate`,
  // then FINGERPRINT.
  [[nodiscard]] Bytes build(stun::Method method, const stun::TransactionId& id, const Attrs& attrs,
                            bool authenticate, stun::Class cls = stun::Class::kRequest) const {
    Bytes buffer;
    stun::MessageBuilder b(buffer, stun::make_type(method, cls), id);
    if (attrs) attrs(b);
    if (!authenticate && pad_unauthenticated > 0) {
      b.add_string(stun::attr::kSoftware, std::string(pad_unauthenticated, 'x'));
    }
    if (authenticate) {
      if (use_userhash) {
        b.add(stun::attr::kUserhash, auth::userhash(username, realm));
      } else {
        b.add_string(stun::attr::kUsername, username);
      }
      b.add_string(stun::attr::kRealm, realm);
      if (send_nonce) b.add_string(stun::attr::kNonce, nonce);
      if (use_sha256) {
        if (send_algorithms_list) {
          b.add(stun::attr::kPasswordAlgorithms, algorithms_override.value_or(offered_algorithms));
        }
        const uint8_t sha256[4] = {0x00, 0x02, 0x00, 0x00};
        b.add(stun::attr::kPasswordAlgorithm, sha256);
        b.add_message_integrity_sha256(key().view());
      } else {
        b.add_message_integrity(key().view());
      }
    }
    b.add_fingerprint();
    return buffer;
  }

  // Feeds `bytes` from this client's 5-tuple; returns everything the server sent back to it.
  std::vector<Reply> send_bytes(ByteView bytes) {
    const size_t before = h_.outbox.client_packets.size();
    h_.deliver(tuple, bytes);
    std::vector<Reply> out;
    for (const ClientPacket& p : h_.outbox.for_client(tuple, before)) {
      out.push_back(Reply::decode(p.bytes, key()));
    }
    for (const Reply& r : out) learn(r);
    return out;
  }

  // Sends one request and expects exactly one response with the same transaction id.
  Reply send_once(stun::Method method, const Attrs& attrs, bool authenticate) {
    const stun::TransactionId id = next_transaction_id();
    return exchange(build(method, id, attrs, authenticate));
  }

  Reply exchange(const Bytes& request) {
    std::vector<Reply> replies = send_bytes(request);
    if (replies.size() != 1) {
      ADD_FAILURE() << "expected one response, got " << replies.size();
      return Reply{};
    }
    Reply& r = replies.front();
    EXPECT_TRUE(r.parsed) << "the response does not parse as STUN";
    EXPECT_TRUE(std::equal(r.transaction_id.begin(), r.transaction_id.end(), request.begin() + 8))
        << "the response has another transaction id";
    return r;
  }

  // The whole exchange: a first unauthenticated request when no nonce is known yet (-> 401), the
  // authenticated one, and once more if the nonce went stale (438).
  Reply request(stun::Method method, const Attrs& attrs = {}) {
    if (nonce.empty()) {
      Reply first = send_once(method, attrs, false);
      if (!(first.is_error(stun::error::kUnauthorized) && first.nonce)) return first;
    }
    Reply r = send_once(method, attrs, true);
    if (r.is_error(stun::error::kStaleNonce) && r.nonce) r = send_once(method, attrs, true);
    return r;
  }

  // Allocate with REQUESTED-TRANSPORT UDP (17) plus `extra`.
  Reply allocate(const Attrs& extra = {}) {
    Reply r = request(stun::Method::kAllocate, [&](stun::MessageBuilder& b) {
      b.add(stun::attr::kRequestedTransport, requested_transport(17));
      if (extra) extra(b);
    });
    if (r.is_success() && r.relayed) relayed = r.relayed;
    return r;
  }
  Reply allocate_with_lifetime(uint32_t seconds) {
    return allocate(
        [seconds](stun::MessageBuilder& b) { b.add_u32(stun::attr::kLifetime, seconds); });
  }

  Reply refresh(std::optional<uint32_t> lifetime = std::nullopt) {
    return request(stun::Method::kRefresh, [lifetime](stun::MessageBuilder& b) {
      if (lifetime) b.add_u32(stun::attr::kLifetime, *lifetime);
    });
  }

  Reply create_permission(const std::vector<SocketAddress>& peers) {
    return request(stun::Method::kCreatePermission, [&peers](stun::MessageBuilder& b) {
      for (const SocketAddress& p : peers) b.add_xor_address(stun::attr::kXorPeerAddress, p);
    });
  }

  Reply channel_bind(uint16_t channel, const SocketAddress& peer) {
    return request(stun::Method::kChannelBind, [channel, peer](stun::MessageBuilder& b) {
      uint8_t number[4] = {0, 0, 0, 0};
      store_be16(number, channel);
      b.add(stun::attr::kChannelNumber, number);
      b.add_xor_address(stun::attr::kXorPeerAddress, peer);
    });
  }

  // A Send indication (RFC 8656 §10.1): XOR-PEER-ADDRESS, DATA, `extra`, FINGERPRINT.
  [[nodiscard]] Bytes send_indication_bytes(const SocketAddress& peer, ByteView data,
                                            const Attrs& extra = {}) const {
    return build(
        stun::Method::kSend, next_transaction_id(),
        [&](stun::MessageBuilder& b) {
          b.add_xor_address(stun::attr::kXorPeerAddress, peer);
          b.add(stun::attr::kData, data);
          if (extra) extra(b);
        },
        false, stun::Class::kIndication);
  }
  void send_indication(const SocketAddress& peer, ByteView data, const Attrs& extra = {}) {
    h_.deliver(tuple, send_indication_bytes(peer, data, extra));
  }
  void send_channel_data(uint16_t channel, ByteView data, size_t padding = 0) {
    h_.deliver(tuple, channel_data(channel, data, padding));
  }

  // The AllocationId behind this client's relay (from FakeRelays), for on_peer_datagram.
  [[nodiscard]] turn::AllocationId allocation_id() const {
    if (!relayed) {
      ADD_FAILURE() << "no allocation";
      return {};
    }
    const auto id = h_.relays.owner_of_port(relayed->port, relayed->family());
    if (!id) ADD_FAILURE() << "no open relay on port " << relayed->port;
    return id.value_or(turn::AllocationId{});
  }

  static std::array<uint8_t, 4> requested_transport(uint8_t protocol) {
    return {protocol, 0, 0, 0};
  }
  static std::array<uint8_t, 4> address_family(Family f) {
    return {static_cast<uint8_t>(f), 0, 0, 0};
  }

 private:
  void learn(const Reply& r) {
    if (!r.parsed || r.cls != stun::Class::kError) return;
    if (r.error != stun::error::kUnauthorized && r.error != stun::error::kStaleNonce) return;
    if (r.realm) realm = *r.realm;
    if (r.nonce) nonce = *r.nonce;
    if (r.password_algorithms) offered_algorithms = *r.password_algorithms;
  }

  Harness& h_;
};

}  // namespace turnpike::testing
