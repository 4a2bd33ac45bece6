// Server CPU per forged request (Google Benchmark): an Allocate with MESSAGE-INTEGRITY under the
// wrong key and a 500-byte TURN REST username (the worst case: one REST password and one MD5 key
// per configured secret, then one HMAC-SHA1 each), fed to a whole turn::Server (tests/support).
//   Verified       every forged request is verified, then answered or dropped: what the server
//                  did for each one before it charged the source's bucket first (limiter off here)
//   BucketEmpty    the source's bucket is empty: the request is dropped before any hashing
//   Authenticated  for scale: a valid Refresh of an allocation, verified and answered
// Not a test: run build/tests/bench/auth_bench.
#include <benchmark/benchmark.h>

#include <string>

#include "support/harness.h"
#include "turnpike/auth/rest_credentials.h"

namespace {

using namespace turnpike;
using namespace turnpike::testing;

const FiveTuple kForger = udp_tuple("198.51.100.66:40000");
const std::string kUsername = "4102444800:" + std::string(489, 'x');  // 500 bytes, REST form

Bytes forged(Harness& h, const FiveTuple& from, const std::string& username,
             std::string_view password, stun::Method method) {
  Bytes out;
  const stun::TransactionId id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  stun::MessageBuilder b(out, stun::make_type(method, stun::Class::kRequest), id);
  const uint8_t udp[4] = {17, 0, 0, 0};
  if (method == stun::Method::kAllocate) b.add(stun::attr::kRequestedTransport, udp);
  b.add_string(stun::attr::kUsername, username);
  b.add_string(stun::attr::kRealm, h.config.realm);
  b.add_string(stun::attr::kNonce, h.nonces.issue(h.now().mono_ms, from.client, 0));
  b.add_message_integrity(
      auth::long_term_key(stun::PasswordAlgorithm::kMd5, username, h.config.realm, password)
          .view());
  b.add_fingerprint();
  return out;
}

void run(benchmark::State& state, Harness& h, const FiveTuple& from, const Bytes& request) {
  for (auto _ : state) {
    h.deliver(from, request);
    h.outbox.client_packets.clear();
    h.observer.auth_failures.clear();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ForgedRequest_Verified(benchmark::State& state) {
  HarnessOptions o;
  o.config.unauthenticated_rate_per_s = 0;  // every request reaches the authenticator
  Harness h(o);
  run(state, h, kForger, forged(h, kForger, kUsername, "wrong", stun::Method::kAllocate));
}
BENCHMARK(BM_ForgedRequest_Verified);

void BM_ForgedRequest_BucketEmpty(benchmark::State& state) {
  Harness h;  // default limit: 50/s, burst 100; the clock does not move, so it stays empty
  const Bytes request = forged(h, kForger, kUsername, "wrong", stun::Method::kAllocate);
  for (int i = 0; i < 200; ++i) h.deliver(kForger, request);
  run(state, h, kForger, request);
}
BENCHMARK(BM_ForgedRequest_BucketEmpty);

void BM_AuthenticatedRefresh(benchmark::State& state) {
  Harness h;
  const auto cred = auth::mint_rest_credential(kRestSecretOne, "app", 4102444800);
  const Bytes allocate = forged(h, kForger, cred.username, cred.password, stun::Method::kAllocate);
  h.deliver(kForger, allocate);
  run(state, h, kForger, forged(h, kForger, cred.username, cred.password, stun::Method::kRefresh));
}
BENCHMARK(BM_AuthenticatedRefresh);

}  // namespace

BENCHMARK_MAIN();
