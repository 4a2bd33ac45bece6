// Micro-benchmarks of the STUN codec and the ChannelData route (Google Benchmark). Not a test:
// run build/tests/bench/codec_bench. Inputs are built once; each iteration parses (or builds)
// one message, so the numbers are per message.
#include <benchmark/benchmark.h>

#include <vector>

#include "turnpike/auth/long_term_key.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/integrity.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/stun/message_view.h"

namespace {

using namespace turnpike;
using namespace turnpike::stun;

const uint8_t kTid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
const SocketAddress kPeer = *SocketAddress::parse("198.51.100.7:40000");

std::vector<uint8_t> binding_request() {
  std::vector<uint8_t> b;
  MessageBuilder m(b, make_type(Method::kBinding, Class::kRequest), kTid);
  m.add_fingerprint();
  return b;
}

auth::Key key() {
  return auth::long_term_key(PasswordAlgorithm::kMd5, "alice", "turnpike", "alice-pass");
}

std::vector<uint8_t> authenticated(Method method, bool channel_bind, bool fingerprint = true) {
  std::vector<uint8_t> b;
  MessageBuilder m(b, make_type(method, Class::kRequest), kTid);
  if (channel_bind) {
    const uint8_t channel[4] = {0x40, 0x01, 0, 0};
    m.add(attr::kChannelNumber, channel);
    m.add_xor_address(attr::kXorPeerAddress, kPeer);
  } else {
    const uint8_t udp[4] = {17, 0, 0, 0};
    m.add(attr::kRequestedTransport, udp);
    m.add_u32(attr::kLifetime, 600);
  }
  m.add_string(attr::kUsername, "1790000000:mobile-app");
  m.add_string(attr::kRealm, "turnpike");
  m.add_string(attr::kNonce, "obMatJos2wAAAAAAAAAAAAAAcr2MB6Mpzf/mgs7n/xRtmddHc");
  m.add_message_integrity(key().view());
  if (fingerprint) m.add_fingerprint();
  return b;
}

void BM_ParseBinding(benchmark::State& state) {
  const auto msg = binding_request();
  for (auto _ : state) {
    auto parsed = MessageView::parse(msg);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseBinding);

void BM_ParseAllocateWithIntegrity(benchmark::State& state) {
  const auto msg = authenticated(Method::kAllocate, false);
  for (auto _ : state) {
    auto parsed = MessageView::parse(msg);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseAllocateWithIntegrity);

void BM_ParseChannelBind(benchmark::State& state) {
  const auto msg = authenticated(Method::kChannelBind, true);
  for (auto _ : state) {
    auto parsed = MessageView::parse(msg);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseChannelBind);

// The same ChannelBind without FINGERPRINT (as coturn's turnutils_uclient sends it): the structure
// walk alone, without the CRC-32 over the message that parse() otherwise verifies.
void BM_ParseChannelBindNoFingerprint(benchmark::State& state) {
  const auto msg = authenticated(Method::kChannelBind, true, false);
  for (auto _ : state) {
    auto parsed = MessageView::parse(msg);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseChannelBindNoFingerprint);

void BM_VerifyMessageIntegrity(benchmark::State& state) {
  const auto msg = authenticated(Method::kAllocate, false);
  const auto parsed = MessageView::parse(msg);
  const auth::Key k = key();
  for (auto _ : state) {
    benchmark::DoNotOptimize(verify_message_integrity(*parsed, k.view()));
  }
}
BENCHMARK(BM_VerifyMessageIntegrity);

void BM_RouteChannelData(benchmark::State& state) {
  std::vector<uint8_t> frame(4 + 100, 0xAB);
  frame[0] = 0x40;
  frame[1] = 0x01;
  frame[2] = 0;
  frame[3] = 100;
  for (auto _ : state) {
    const bool is_channel = looks_like_channel_data(frame);
    auto data = parse_channel_data(frame);
    benchmark::DoNotOptimize(is_channel);
    benchmark::DoNotOptimize(data);
  }
}
BENCHMARK(BM_RouteChannelData);

void BM_BuildSuccessWithIntegrityAndFingerprint(benchmark::State& state) {
  std::vector<uint8_t> buffer;
  buffer.reserve(256);
  const auth::Key k = key();
  for (auto _ : state) {
    MessageBuilder m(buffer, make_type(Method::kAllocate, Class::kSuccess), kTid);
    m.add_xor_address(attr::kXorRelayedAddress, kPeer);
    m.add_u32(attr::kLifetime, 600);
    m.add_xor_address(attr::kXorMappedAddress, kPeer);
    m.add_message_integrity(k.view());
    m.add_fingerprint();
    benchmark::DoNotOptimize(buffer.data());
  }
}
BENCHMARK(BM_BuildSuccessWithIntegrityAndFingerprint);

}  // namespace

BENCHMARK_MAIN();
