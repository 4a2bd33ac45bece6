// turn::Server under hostile input: a bounded, seeded loop of random mutations of valid requests,
// indications and ChannelData (plus peer datagrams, clock jumps and TCP closes). Under the
// sanitizer build it must not crash, everything it sends must be well-formed, and only
// authenticated Allocates may create allocations.
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "support/test_client.h"
#include "turnpike/auth/rest_credentials.h"
#include "turnpike/stun/integrity.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace attr = stun::attr;

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed) : rng_(seed) {}

  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  uint8_t byte() { return static_cast<uint8_t>(rng_()); }
  bool chance(uint32_t percent) { return below(100) < percent; }

  void mutate(Bytes& m) {
    const uint32_t rounds = 1 + below(4);
    for (uint32_t i = 0; i < rounds; ++i) {
      const size_t size = m.size();
      const auto at = [&] {
        return size == 0 ? size_t{0} : static_cast<size_t>(below(static_cast<uint32_t>(size)));
      };
      switch (below(10)) {
        case 0:  // flip one bit
          if (size > 0) m[at()] ^= static_cast<uint8_t>(1u << below(8));
          break;
        case 1:  // overwrite one byte
          if (size > 0) m[at()] = byte();
          break;
        case 2:  // truncate
          m.resize(at());
          break;
        case 3:  // append junk
          for (uint32_t n = 1 + below(16); n > 0; --n) m.push_back(byte());
          break;
        case 4:  // rewrite the header length
          if (size >= 4) store_be16(m.data() + 2, static_cast<uint16_t>(rng_()));
          break;
        case 5:  // rewrite an attribute length (attributes start at 20, 4-aligned)
          if (size >= 24) {
            const size_t pos =
                20 + 4 * static_cast<size_t>(below(static_cast<uint32_t>((size - 20) / 4)));
            store_be16(m.data() + pos + 2,
                       static_cast<uint16_t>(below(3) == 0 ? rng_() : below(64)));
          }
          break;
        case 6:  // insert junk
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(at()), 1 + below(8), byte());
          break;
        case 7:  // erase a range
          if (size > 0) {
            const size_t from = at();
            const size_t n = std::min<size_t>(size - from, 1 + below(12));
            m.erase(m.begin() + static_cast<std::ptrdiff_t>(from),
                    m.begin() + static_cast<std::ptrdiff_t>(from + n));
          }
          break;
        case 8:  // make it look like ChannelData
          if (size > 0) m[0] = static_cast<uint8_t>(0x40 | (byte() & 0x3F));
          break;
        default:  // rewrite an attribute type
          if (size >= 24) {
            const size_t pos =
                20 + 4 * static_cast<size_t>(below(static_cast<uint32_t>((size - 20) / 4)));
            store_be16(m.data() + pos, static_cast<uint16_t>(rng_()));
          }
          break;
      }
    }
    // Half the time, give the result a valid FINGERPRINT again so it gets past the parser's CRC
    // check and into the server's handlers.
    if (chance(50) && m.size() >= stun::kHeaderSize && m.size() % 4 == 0 && m.size() < 60'000 &&
        (m[0] & 0xC0) == 0) {
      store_be16(m.data() + 2, static_cast<uint16_t>(m.size() - stun::kHeaderSize + 8));
      const uint32_t crc = stun::fingerprint_of(m);
      m.insert(m.end(), {0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0});
      store_be32(m.data() + m.size() - 4, crc);
    }
  }

  // 1-4 attributes of types the server reads, with values of plausible and implausible sizes.
  void random_attributes(stun::MessageBuilder& b) {
    static constexpr uint16_t kTypes[] = {attr::kLifetime,
                                          attr::kEvenPort,
                                          attr::kRequestedTransport,
                                          attr::kRequestedAddressFamily,
                                          attr::kAdditionalAddressFamily,
                                          attr::kReservationToken,
                                          attr::kXorPeerAddress,
                                          attr::kChannelNumber,
                                          attr::kData,
                                          attr::kDontFragment,
                                          attr::kPasswordAlgorithm,
                                          attr::kPasswordAlgorithms,
                                          attr::kUsername,
                                          attr::kUserhash,
                                          0x0031};
    static constexpr size_t kSizes[] = {0, 1, 2, 3, 4, 8, 12, 20, 32};
    for (uint32_t n = 1 + below(4); n > 0; --n) {
      Bytes value(kSizes[below(9)]);
      for (uint8_t& v : value) v = byte();
      if (value.size() >= 2 && chance(50)) value[1] = static_cast<uint8_t>(1 + below(2));
      b.add(kTypes[below(15)], value);
    }
  }

 private:
  std::mt19937_64 rng_;
};

const SocketAddress kPeers[] = {address("93.184.216.34:5000"), address("93.184.216.35:6000"),
                                address("127.0.0.1:22"), address("[2a00:1450::1]:5000")};

Bytes valid_message(Fuzzer& f, TestClient& c) {
  const SocketAddress& peer = kPeers[f.below(4)];
  const auto id = TestClient::next_transaction_id();
  switch (f.below(11)) {
    case 0:
      return c.build(Method::kBinding, id, {}, false);
    case 1:
    case 2:
      return c.build(
          Method::kAllocate, id,
          [&](stun::MessageBuilder& b) {
            b.add(attr::kRequestedTransport,
                  TestClient::requested_transport(f.chance(90) ? 17 : 6));
            if (f.chance(30)) b.add_u32(attr::kLifetime, f.below(5000));
            if (f.chance(15)) {
              const uint8_t even[1] = {static_cast<uint8_t>(f.chance(50) ? 0x80 : 0)};
              b.add(attr::kEvenPort, even);
            }
            if (f.chance(10))
              b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
          },
          f.chance(90));
    case 3:
      return c.build(
          Method::kRefresh, id,
          [&](stun::MessageBuilder& b) {
            if (f.chance(50)) b.add_u32(attr::kLifetime, f.chance(30) ? 0 : f.below(4000));
          },
          true);
    case 4:
      return c.build(
          Method::kCreatePermission, id,
          [&](stun::MessageBuilder& b) { b.add_xor_address(attr::kXorPeerAddress, peer); }, true);
    case 5:
      return c.build(
          Method::kChannelBind, id,
          [&](stun::MessageBuilder& b) {
            uint8_t number[4] = {0x40, static_cast<uint8_t>(f.below(4)), 0, 0};
            b.add(attr::kChannelNumber, number);
            b.add_xor_address(attr::kXorPeerAddress, peer);
          },
          true);
    case 6:
    case 7:
      return c.send_indication_bytes(peer, bytes_of("some payload"));
    case 8:
    case 9: {
      // Authenticated, with random attributes: valid MESSAGE-INTEGRITY and FINGERPRINT.
      static constexpr Method kMethods[] = {Method::kAllocate, Method::kRefresh,
                                            Method::kCreatePermission, Method::kChannelBind};
      return c.build(
          kMethods[f.below(4)], id, [&](stun::MessageBuilder& b) { f.random_attributes(b); }, true);
    }
    default: {
      const Bytes payload(f.below(40), 0xAB);
      return channel_data(static_cast<uint16_t>(0x4000 + f.below(4)), payload, f.below(4));
    }
  }
}

TEST(Robustness, MutatedRequestsNeverCrashAndNeverAllocateWithoutAuthentication) {
  HarnessOptions o;
  o.config.ipv6_relay = true;
  Harness h(o);
  Fuzzer f(0x5EED'7475'726E'0001ULL);
  const auto rest = auth::mint_rest_credential(kRestSecretOne, "carol", h.now().unix_s + 86'400);
  std::vector<std::unique_ptr<TestClient>> clients;
  clients.push_back(std::make_unique<TestClient>(h, udp_tuple("198.51.100.10:40000")));
  clients.push_back(std::make_unique<TestClient>(h, udp_tuple("198.51.100.11:40000"),
                                                 std::string(kBob), std::string(kBobPassword)));
  clients.push_back(std::make_unique<TestClient>(h, udp_tuple("198.51.100.12:40000"), rest.username,
                                                 rest.password));
  clients.push_back(std::make_unique<TestClient>(h, tcp_tuple("198.51.100.13:40000", 1)));
  clients.push_back(
      std::make_unique<TestClient>(h, udp_tuple("[2001:db8::10]:40000", "[2001:db8::1]:3478")));
  clients[2]->use_sha256 = true;
  clients[4]->use_userhash = true;
  for (auto& c : clients) {
    ASSERT_TRUE(c->send_once(Method::kRefresh, {}, false).is_error(stun::error::kUnauthorized));
  }

  size_t authenticated_allocate_successes = 0;
  constexpr int kIterations = 50'000;
  for (int i = 0; i < kIterations; ++i) {
    TestClient& c = *clients[f.below(static_cast<uint32_t>(clients.size()))];
    Bytes message = valid_message(f, c);
    if (f.chance(70)) f.mutate(message);
    for (const Reply& r : c.send_bytes(message)) {
      if (r.bytes.empty() || (r.bytes[0] & 0xC0) != 0) continue;  // ChannelData to the client
      if (!r.parsed) {
        ADD_FAILURE() << "iteration " << i << ": the server sent a malformed STUN message";
        return;
      }
      if (r.method == Method::kAllocate && r.is_success() &&
          (r.integrity == stun::IntegrityStatus::kOk ||
           r.integrity_sha256 == stun::IntegrityStatus::kOk)) {
        ++authenticated_allocate_successes;
      }
    }
    if (f.chance(5) && !h.relays.open_relays.empty()) {
      const auto& relay =
          h.relays.open_relays[f.below(static_cast<uint32_t>(h.relays.open_relays.size()))];
      const Bytes payload(f.below(64), f.byte());
      h.from_peer(relay.owner, kPeers[f.below(4)], payload);
    }
    if (i % 1000 == 999) {
      h.advance_ms(f.below(120'000));
      h.tick();
      if (f.chance(30)) h.server.on_client_closed(clients[3]->tuple, h.now());
    }
    if (h.server.allocation_count() != h.relays.open_relays.size() ||
        h.observer.created > authenticated_allocate_successes ||
        h.server.allocation_count() > clients.size()) {
      ADD_FAILURE() << "iteration " << i << ": " << h.server.allocation_count() << " allocations, "
                    << h.relays.open_relays.size() << " relays open, " << h.observer.created
                    << " created for " << authenticated_allocate_successes
                    << " authenticated Allocate successes";
      return;
    }
  }
  // The loop exercised the paths it is meant to.
  EXPECT_GT(authenticated_allocate_successes, 0u);
  EXPECT_GT(h.observer.created, 1u);
  EXPECT_FALSE(h.outbox.peer_packets.empty());
  h.advance_s(7200);
  h.tick();
  EXPECT_EQ(h.server.allocation_count(), 0u);
  EXPECT_TRUE(h.relays.open_relays.empty());
  EXPECT_TRUE(h.relays.reserved.empty());
}

TEST(Robustness, GarbageIsDroppedSilently) {
  Harness h;
  Fuzzer f(42);
  const FiveTuple client = udp_tuple("198.51.100.10:40000");
  for (int i = 0; i < 5'000; ++i) {
    Bytes junk(f.below(80));
    for (uint8_t& b : junk) b = f.byte();
    if (!junk.empty()) junk[0] &= 0x3F;    // looks like STUN by its first bits
    if (junk.size() >= 8) junk[4] = 0x00;  // but never carries the magic cookie (0x21...)
    h.deliver(client, junk);
  }
  EXPECT_TRUE(h.outbox.client_packets.empty());
  EXPECT_TRUE(h.outbox.peer_packets.empty());
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

}  // namespace
}  // namespace turnpike::testing
