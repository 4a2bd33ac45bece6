// Unpredictable identifiers (RFC 8656 §21.3.3): RESERVATION-TOKENs, Data-indication transaction ids
// and relay port choice have separate secrets from the CSPRNG, so none can be derived from another
// or from one seed.
#include <gtest/gtest.h>

#include <set>

#include "support/test_client.h"
#include "turnpike/turn/relay_port_pool.h"
#include "turnpike/util/crypto.h"

namespace turnpike::testing {
namespace {

namespace attr = stun::attr;

const SocketAddress kPeer = address("93.184.216.34:5000");
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

uint64_t unxorshift(uint64_t x, unsigned shift) {
  uint64_t y = x;
  for (unsigned i = 0; i < 64 / shift + 1; ++i) y = x ^ (y >> shift);
  return y;
}

uint64_t inverse(uint64_t a) {  // modular inverse of an odd number, mod 2^64 (Newton)
  uint64_t x = a;
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}

// splitmix64's finaliser is a bijection: one output gives back its input.
uint64_t unmix(uint64_t z) {
  z = unxorshift(z, 31);
  z *= inverse(0x94D049BB133111EBULL);
  z = unxorshift(z, 27);
  z *= inverse(0xBF58476D1CE4E5B9ULL);
  return unxorshift(z, 30);
}

// The scheme the server used before: transaction ids = splitmix64(seed + n * golden), tokens =
// HMAC-SHA256(seed, n) under one counter n. Every token an attacker can compute from one observed
// transaction id (n up to 64 either way).
std::set<uint64_t> tokens_predicted_from(const stun::TransactionId& id) {
  uint64_t r1 = 0;
  for (size_t i = 0; i < 8; ++i) r1 |= uint64_t{id[i]} << (8 * i);
  const uint64_t z = unmix(r1);
  std::set<uint64_t> out;
  for (uint64_t n = 1; n <= 64; ++n) {
    const uint64_t seed = z - n * kGolden;
    uint8_t key[8];
    for (size_t i = 0; i < 8; ++i) key[i] = static_cast<uint8_t>(seed >> (8 * i));
    for (uint64_t k = 1; k <= 64; ++k) {
      uint8_t count[8];
      for (size_t i = 0; i < 8; ++i) count[i] = static_cast<uint8_t>(k >> (8 * i));
      const auto mac = crypto::hmac_sha256(ByteView(key, 8), ByteView(count, 8));
      uint64_t token = 0;
      for (size_t i = 0; i < 8; ++i) token = (token << 8) | mac[i];
      out.insert(token | 1);
    }
  }
  return out;
}

uint64_t token_of(const Reply& r) {
  uint64_t token = 0;
  for (const uint8_t b : *r.reservation_token) token = (token << 8) | b;
  return token;
}

Reply allocate_with_reservation(TestClient& c) {
  const uint8_t even_port_r[1] = {0x80};
  return c.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port_r); });
}

// The transaction id of a Data indication the server sends `c` (from kPeer).
stun::TransactionId data_indication_id(Harness& h, TestClient& c) {
  h.from_peer(c.allocation_id(), kPeer, bytes_of("media"));
  const Bytes& sent = h.outbox.client_packets.back().bytes;
  EXPECT_EQ(load_be16(sent.data()), stun::make_type(stun::Method::kData, stun::Class::kIndication));
  stun::TransactionId id{};
  std::copy_n(sent.begin() + 8, id.size(), id.begin());
  return id;
}

TEST(Identifiers, ReservationTokensCannotBeComputedFromTransactionIds) {
  Harness h;
  TestClient first(h, udp_tuple("198.51.100.10:40001"));
  const Reply held = allocate_with_reservation(first);
  ASSERT_TRUE(held.is_success() && held.reservation_token);
  ASSERT_TRUE(first.create_permission({kPeer}).is_success());
  const std::set<uint64_t> predicted = tokens_predicted_from(data_indication_id(h, first));
  TestClient second(h, udp_tuple("198.51.100.10:40002"));
  const Reply next = allocate_with_reservation(second);
  ASSERT_TRUE(next.is_success() && next.reservation_token);
  EXPECT_FALSE(predicted.contains(token_of(held))) << "the token already handed out";
  EXPECT_FALSE(predicted.contains(token_of(next))) << "the next token";
}

TEST(Identifiers, TwoServersWithTheSameConfigDrawTheirOwnSecrets) {
  Harness one;
  Harness two;  // same config, same (fixed) nonce key: a second worker
  TestClient a(one, udp_tuple("198.51.100.10:40001"));
  TestClient b(two, udp_tuple("198.51.100.10:40001"));
  const Reply ra = allocate_with_reservation(a);
  const Reply rb = allocate_with_reservation(b);
  ASSERT_TRUE(ra.reservation_token && rb.reservation_token);
  EXPECT_NE(token_of(ra), token_of(rb));
  ASSERT_TRUE(a.create_permission({kPeer}).is_success());
  ASSERT_TRUE(b.create_permission({kPeer}).is_success());
  EXPECT_NE(data_indication_id(one, a), data_indication_id(two, b));
}

TEST(Identifiers, RelayPortsAreChosenByEachPoolsOwnSecret) {
  turn::RelayPortPool one(49152, 65535);
  turn::RelayPortPool two(49152, 65535);
  std::vector<uint16_t> first;
  std::vector<uint16_t> second;
  for (int i = 0; i < 8; ++i) {
    first.push_back(*one.acquire(false));
    second.push_back(*two.acquire(false));
    one.release(first.back());
    two.release(second.back());
  }
  EXPECT_NE(first, second);  // same range, same history: different choices
  EXPECT_GT(std::set<uint16_t>(first.begin(), first.end()).size(), 6U);  // fresh each time
}

}  // namespace
}  // namespace turnpike::testing
