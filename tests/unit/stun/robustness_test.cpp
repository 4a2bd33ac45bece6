// Bounded, deterministic mutation test: ~200k mutants of valid messages go through parse, every
// decoder and both integrity checks. Nothing may crash or read out of bounds (run it under
// ASan/UBSan: each mutant lives in an exactly-sized heap block, so a read past it is caught), and
// what parse accepts must satisfy the view's invariants.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"
#include "unit/stun/rfc5769_vectors.h"

namespace turnpike::stun {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int kIterations = 200'000;
const ByteView kKey = as_bytes(testing::kShortTermPassword);

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  size_t below(size_t bound) { return bound == 0 ? 0 : static_cast<size_t>(engine_() % bound); }
  uint8_t byte() { return static_cast<uint8_t>(engine_()); }

 private:
  std::mt19937_64 engine_;
};

std::vector<Bytes> seeds() {
  std::vector<Bytes> out;
  out.emplace_back(testing::kSampleRequest.begin(), testing::kSampleRequest.end());
  out.emplace_back(testing::kIpv4Response.begin(), testing::kIpv4Response.end());
  out.emplace_back(testing::kIpv6Response.begin(), testing::kIpv6Response.end());
  out.emplace_back(testing::kLongTermRequest.begin(), testing::kLongTermRequest.end());

  const uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  Bytes buf;
  MessageBuilder b(buf, make_type(Method::kAllocate, Class::kSuccess), tid);
  b.add_xor_address(attr::kXorRelayedAddress, *SocketAddress::parse("[2001:db8::7]:50000"));
  b.add_xor_address(attr::kXorMappedAddress, *SocketAddress::parse("192.0.2.1:32853"));
  b.add_address(attr::kMappedAddress, *SocketAddress::parse("192.0.2.1:32853"));
  b.add_u32(attr::kLifetime, 600);
  b.add_error_code(error::kUnauthorized);
  const uint16_t unknown[] = {0x0024};
  b.add_unknown_attributes(unknown);
  const PasswordAlgorithm algorithms[] = {PasswordAlgorithm::kSha256};
  b.add_password_algorithms(algorithms);
  const uint8_t misc[] = {0x40, 0x01, 0, 0};
  b.add(attr::kChannelNumber, misc);
  b.add(attr::kRequestedTransport, misc);
  b.add(attr::kRequestedAddressFamily, misc);
  b.add(attr::kPasswordAlgorithm, misc);
  b.add_message_integrity(kKey);
  b.add_message_integrity_sha256(kKey);
  b.add_fingerprint();
  out.push_back(buf);

  // A ChannelData datagram, so the mutants also exercise that parser with nearby inputs.
  out.push_back(Bytes{0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0});
  return out;
}

void mutate(Bytes& m, Rng& rng) {
  static constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x04, 0x08, 0x14,
                                             0x20, 0x28, 0x7F, 0x80, 0xC0, 0xFF};
  const size_t rounds = 1 + rng.below(4);
  for (size_t r = 0; r < rounds; ++r) {
    switch (rng.below(7)) {
      case 0:  // flip one bit
        if (!m.empty()) m[rng.below(m.size())] ^= static_cast<uint8_t>(1u << rng.below(8));
        break;
      case 1:  // random byte
        if (!m.empty()) m[rng.below(m.size())] = rng.byte();
        break;
      case 2:  // interesting byte
        if (!m.empty()) m[rng.below(m.size())] = kInteresting[rng.below(sizeof kInteresting)];
        break;
      case 3:  // truncate
        m.resize(rng.below(m.size() + 1));
        break;
      case 4: {  // extend with random bytes
        const size_t n = 1 + rng.below(24);
        for (size_t i = 0; i < n; ++i) m.push_back(rng.byte());
        break;
      }
      case 5:  // an attribute length field (at a 4-aligned offset) set to something odd
        if (m.size() >= 24) {
          const size_t at = 20 + 4 * rng.below((m.size() - 20) / 4) + 2;
          if (at + 2 <= m.size()) {
            const uint16_t lengths[] = {0, 1, 3, 4, 7, 8, 16, 20, 32, 0x7FFF, 0xFFFF};
            store_be16(m.data() + at, lengths[rng.below(std::size(lengths))]);
          }
        }
        break;
      default: {  // duplicate a 4-byte-aligned chunk at the end (more attributes)
        if (m.size() >= 24) {
          const size_t at = 20 + 4 * rng.below((m.size() - 20) / 4);
          const size_t n = 4 * (1 + rng.below(4));
          for (size_t i = 0; i < n && at + i < m.size(); ++i) m.push_back(m[at + i]);
        }
        break;
      }
    }
  }
  // Often make the header consistent again so the mutant reaches the attribute walk, and the
  // FINGERPRINT right so it reaches the decoders and MAC checks.
  if (m.size() >= 20 && rng.below(4) != 0) {
    store_be16(m.data() + 2, static_cast<uint16_t>(m.size() - 20));
  }
  if (m.size() >= 28 && load_be16(m.data() + m.size() - 8) == attr::kFingerprint &&
      rng.below(4) != 0) {
    store_be32(m.data() + m.size() - 4, fingerprint_of(ByteView(m).first(m.size() - 8)));
  }
}

struct Stats {
  size_t parsed = 0;
  size_t decoded_values = 0;
  size_t integrity_ok = 0;
  size_t channel_data = 0;
};

void exercise(ByteView bytes, Stats& stats) {
  (void)MessageView::looks_like_stun(bytes);
  if (looks_like_channel_data(bytes)) {
    const auto cd = parse_channel_data(bytes);
    if (cd) {
      ++stats.channel_data;
      ASSERT_LE(cd->payload.data() + cd->payload.size(), bytes.data() + bytes.size());
    }
  }
  const auto parsed = MessageView::parse(bytes);
  if (!parsed) {
    ASSERT_NE(to_string(parsed.error()), nullptr);
    return;
  }
  ++stats.parsed;
  const MessageView& m = *parsed;
  ASSERT_EQ(m.raw().size(), bytes.size());
  ASSERT_LE(m.attributes().size(), MessageView::kMaxAttributes);
  ASSERT_EQ(m.transaction_id().size(), kTransactionIdSize);
  for (size_t i = 0; i < m.attributes().size(); ++i) {
    const AttributeRef& a = m.attributes()[i];
    ASSERT_LE(a.offset + 4u + a.length, bytes.size());
    if (a.type == attr::kFingerprint) {
      ASSERT_EQ(i + 1, m.attributes().size());
    }
    const ByteView v = m.value(a);
    ASSERT_TRUE(m.find(a.type));
    // Every decoder on every value, whatever its type.
    stats.decoded_values += decode_xor_address(v, m.transaction_id()).has_value();
    stats.decoded_values += decode_address(v).has_value();
    stats.decoded_values += decode_error_code(v).has_value();
    stats.decoded_values += decode_u32(v).has_value();
    stats.decoded_values += decode_channel_number(v).has_value();
    stats.decoded_values += decode_requested_transport(v).has_value();
    stats.decoded_values += decode_address_family(v).has_value();
    stats.decoded_values += decode_password_algorithm(v).has_value();
    const auto error = decode_error_code(v);
    if (error) {
      ASSERT_GE(error->code, 300);
      ASSERT_LE(error->code, 699);
    }
  }
  uint16_t unknown[3] = {};
  ASSERT_LE(m.unknown_required_attributes(unknown), 3u);
  stats.integrity_ok += verify_message_integrity(m, kKey) == IntegrityStatus::kOk;
  stats.integrity_ok += verify_message_integrity_sha256(m, kKey) == IntegrityStatus::kOk;
}

TEST(Robustness, DeterministicMutations) {
  const std::vector<Bytes> bases = seeds();
  Rng rng(0x5475726E70696B65);  // "Turnpike"
  Stats stats;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    Bytes m = bases[rng.below(bases.size())];
    mutate(m, rng);
    // An exactly-sized heap block, so ASan flags any read past the end of the span.
    const auto block = std::make_unique<uint8_t[]>(m.size());
    if (!m.empty()) std::memcpy(block.get(), m.data(), m.size());
    exercise(ByteView(block.get(), m.size()), stats);
    if (::testing::Test::HasFatalFailure()) {
      FAIL() << "iteration " << iteration << ", size " << m.size();
    }
  }
  // The mutants must actually reach the deep code, or this test proves nothing.
  EXPECT_GT(stats.parsed, static_cast<size_t>(kIterations / 10));
  EXPECT_GT(stats.decoded_values, static_cast<size_t>(kIterations / 10));
  EXPECT_GT(stats.integrity_ok, 1000u);
  EXPECT_GT(stats.channel_data, 1000u);
  std::printf("parsed %zu, decoded values %zu, integrity ok %zu, channel data %zu\n", stats.parsed,
              stats.decoded_values, stats.integrity_ok, stats.channel_data);
}

}  // namespace
}  // namespace turnpike::stun
