// libFuzzer target: a whole turn::Server (with the fakes of tests/support: FakeRelays,
// RecordingOutbox, FakeClock) driven by a script decoded from the input: raw client datagrams and
// stream frames, requests the driver authenticates properly (valid NONCE and MESSAGE-INTEGRITY,
// so the fuzzer reaches every handler, not just the 401), ChannelData, peer datagrams on open
// relays, clock jumps and connection closes. Invariants checked after every step:
//   - every message the server sends parses (STUN with a valid FINGERPRINT, or ChannelData);
//   - relays open == allocations; nothing is relayed to one of our listening addresses;
//   - after two hours and a tick, no allocation, relay or reservation is left.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/harness.h"
#include "turnpike/auth/long_term_key.h"
#include "turnpike/auth/rest_credentials.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/message_builder.h"
#include "turnpike/turn/metrics.h"

using namespace turnpike;
using namespace turnpike::testing;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const { return at_ >= size_; }
  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t u16() {
    const uint16_t high = byte();
    return static_cast<uint16_t>((high << 8) | byte());
  }
  ByteView bytes(size_t n) {
    n = std::min(n, size_ - std::min(at_, size_));
    const ByteView out(data_ + at_, n);
    at_ += n;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

const SocketAddress kListener = address("192.0.2.1:3478");

std::array<FiveTuple, 6> tuples() {
  return {
      udp_tuple("198.51.100.10:40000"),    udp_tuple("198.51.100.10:40001"),
      udp_tuple("198.51.100.11:40000"),    tcp_tuple("198.51.100.12:40000", 1),
      tcp_tuple("198.51.100.13:40000", 2), udp_tuple("[2001:db8::10]:40000", "[2001:db8::1]:3478")};
}

const std::array<SocketAddress, 6> kPeers = {
    address("93.184.216.34:5000"), address("93.184.216.34:5001"), address("192.0.2.1:3478"),
    address("127.0.0.1:22"),       address("203.0.113.7:50000"),  address("[2606:4700::1]:443")};

constexpr std::array<uint16_t, 16> kAttributeTypes = {stun::attr::kRequestedTransport,
                                                      stun::attr::kLifetime,
                                                      stun::attr::kXorPeerAddress,
                                                      stun::attr::kChannelNumber,
                                                      stun::attr::kEvenPort,
                                                      stun::attr::kReservationToken,
                                                      stun::attr::kRequestedAddressFamily,
                                                      stun::attr::kAdditionalAddressFamily,
                                                      stun::attr::kDontFragment,
                                                      stun::attr::kData,
                                                      stun::attr::kSoftware,
                                                      stun::attr::kPasswordAlgorithms,
                                                      stun::attr::kPasswordAlgorithm,
                                                      stun::attr::kUserhash,
                                                      0x0031 /* unknown, comprehension-required */,
                                                      0x8031 /* unknown, optional */};

constexpr std::array<stun::Method, 7> kMethods = {
    stun::Method::kAllocate,    stun::Method::kRefresh, stun::Method::kCreatePermission,
    stun::Method::kChannelBind, stun::Method::kBinding, stun::Method::kSend,
    stun::Method::kConnect};

// Attributes of a request, mostly well-formed (the fuzzer picks the bytes).
void add_attributes(Input& in, stun::MessageBuilder& b, const stun::TransactionId& tid) {
  const int n = in.byte() % 6;
  for (int i = 0; i < n; ++i) {
    const uint8_t kind = in.byte();
    const uint16_t type = kAttributeTypes[kind % kAttributeTypes.size()];
    if (type == stun::attr::kXorPeerAddress && (kind & 0x80) == 0) {
      b.add_xor_address(type, kPeers[in.byte() % kPeers.size()]);
    } else if (type == stun::attr::kRequestedTransport && (kind & 0x80) == 0) {
      const uint8_t v[4] = {static_cast<uint8_t>(in.byte() < 200 ? 17 : 6), 0, 0, 0};
      b.add(type, v);
    } else if (type == stun::attr::kChannelNumber && (kind & 0x80) == 0) {
      uint8_t v[4] = {0x40, static_cast<uint8_t>(in.byte() % 4), 0, 0};
      b.add(type, v);
    } else {
      b.add(type, in.bytes(in.byte() % 24));
    }
  }
  (void)tid;
}

void verify_outbox(Harness& h) {
  for (const ClientPacket& p : h.outbox.client_packets) {
    check(!p.bytes.empty());
    if ((p.bytes[0] & 0xC0) == 0x40) {
      check(stun::parse_channel_data(p.bytes).has_value());
    } else {
      const auto m = stun::MessageView::parse(p.bytes);
      check(m.has_value());
    }
  }
  for (const PeerPacketSent& p : h.outbox.peer_packets) {
    check(!(p.peer == kListener));
  }
  h.outbox.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  HarnessOptions options;
  options.config.max_allocations = 4;
  options.config.max_allocations_per_user = 3;
  options.config.max_permissions = 4;
  options.config.max_channels = 3;
  options.config.ipv6_relay = true;
  options.config.nonce_lifetime_ms = 60'000;
  options.config.unauthenticated_rate_per_s = 20;
  options.config.unauthenticated_burst = 8;
  options.config.unauthenticated_sources = 64;
  options.config.max_bandwidth_per_allocation = 3000;
  options.config.own_listeners = {kListener};
  options.config.relay_ipv4 = IpAddress::v4(203, 0, 113, 7);
  options.config.relay_port_min = 50000;
  options.config.relay_port_max = 50100;
  options.config.strict_channel_numbers = (size > 0 && (data[0] & 1) != 0);
  options.allow = {*policy::Cidr::parse("192.0.2.0/24")};
  Harness h(options);
  h.relays.capacity = 3;
  const auto all = tuples();
  const auto rest = auth::mint_rest_credential("rest-secret-one", "carol", h.now().unix_s + 600);

  for (int step = 0; step < 64 && !in.empty(); ++step) {
    const uint8_t op = in.byte();
    const FiveTuple& tuple = all[in.byte() % all.size()];
    switch (op % 8) {
      case 0:
      case 1:  // raw bytes from a client
        h.deliver(tuple, in.bytes(in.u16() % 600));
        break;
      case 2:
      case 3: {  // a request the driver authenticates (or not, or wrongly)
        const uint8_t flags = in.byte();
        const stun::Method method = kMethods[in.byte() % kMethods.size()];
        stun::TransactionId tid{};
        for (uint8_t& b : tid) b = in.byte();
        Bytes buffer;
        const auto cls =
            method == stun::Method::kSend ? stun::Class::kIndication : stun::Class::kRequest;
        stun::MessageBuilder b(buffer, stun::make_type(method, cls), tid);
        add_attributes(in, b, tid);
        if ((flags & 3) != 0) {
          const bool sha256 = (flags & 4) != 0;
          const bool use_rest = (flags & 8) != 0;
          const std::string user = use_rest ? rest.username : std::string(kAlice);
          const std::string pass = use_rest ? rest.password : std::string(kAlicePassword);
          b.add_string(stun::attr::kUsername, (flags & 16) != 0 ? std::string(kBob) : user);
          b.add_string(stun::attr::kRealm, h.config.realm);
          const uint32_t features =
              auth::kFeaturePasswordAlgorithms | auth::kFeatureUsernameAnonymity;
          const Millis issued = h.now().mono_ms - ((flags & 32) != 0 ? 120'000 : 0);
          b.add_string(stun::attr::kNonce, h.nonces.issue(issued, tuple.client, features));
          const auto algorithm =
              sha256 ? stun::PasswordAlgorithm::kSha256 : stun::PasswordAlgorithm::kMd5;
          const auto key = auth::long_term_key(algorithm, user, h.config.realm,
                                               (flags & 64) != 0 ? "wrong" : pass);
          if (sha256) {
            const uint8_t offered[8] = {0, 2, 0, 0, 0, 1, 0, 0};
            b.add(stun::attr::kPasswordAlgorithms, offered);
            const uint8_t chosen[4] = {0, 2, 0, 0};
            b.add(stun::attr::kPasswordAlgorithm, chosen);
            b.add_message_integrity_sha256(key.view());
          } else {
            b.add_message_integrity(key.view());
          }
        }
        if ((flags & 128) != 0) b.add_fingerprint();
        h.deliver(tuple, buffer);
        break;
      }
      case 4: {  // a datagram from a peer on an open relay
        if (h.relays.open_relays.empty()) break;
        const auto& relay = h.relays.open_relays[in.byte() % h.relays.open_relays.size()];
        const turn::AllocationId owner = relay.owner;
        const SocketAddress& peer = kPeers[in.byte() % kPeers.size()];
        h.from_peer(owner, peer, in.bytes(in.u16() % 1500));
        break;
      }
      case 5: {  // time passes
        const Millis seconds = in.byte();
        h.advance_ms(seconds * 1000 + in.byte());
        h.tick();
        break;
      }
      case 6:  // a TCP client goes away
        h.server.on_client_closed(tuple, h.now());
        break;
      case 7: {  // ChannelData
        const uint16_t channel = static_cast<uint16_t>(0x4000 + in.byte() % 4);
        const ByteView payload = in.bytes(in.u16() % 1500);
        const size_t padding = in.byte() % 4;
        h.deliver(tuple, channel_data(channel, payload, padding));
        break;
      }
    }
    check(h.server.allocation_count() == h.relays.open_relays.size());
    verify_outbox(h);
  }
  // TURN_FUZZ_VERBOSE=1: what one input did (to check that seeds reach the handlers).
  static const bool verbose = std::getenv("TURN_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    const metrics::Counters& s = h.server.counters();
    namespace metric = turn::metric;
    std::fprintf(
        stderr,
        "requests %llu, allocations created %zu, to peer %llu, to client %llu, "
        "auth failures %zu, unauthenticated dropped %llu\n",
        static_cast<unsigned long long>(s.get(metric::kRequests)), h.observer.created,
        static_cast<unsigned long long>(s.get(metric::kRelayedPackets, metric::kToPeer) +
                                        s.get(metric::kRelayedPackets, metric::kToPeer + 1)),
        static_cast<unsigned long long>(s.get(metric::kRelayedPackets, metric::kToClient) +
                                        s.get(metric::kRelayedPackets, metric::kToClient + 1)),
        h.observer.auth_failures.size(),
        static_cast<unsigned long long>(s.get(metric::kUnauthenticatedDropped)));
  }
  h.advance_s(7200);
  h.tick();
  check(h.server.allocation_count() == 0);
  check(h.relays.open_relays.empty());
  check(h.relays.reserved.empty());
  return 0;
}
