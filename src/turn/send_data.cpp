// The data path (RFC 8656 §11 Send and Data, §12 channels): Send indications (§11.2) and
// ChannelData (§12.6) from clients go to peers; datagrams from peers (§11.3, §12.7) go to clients
// as ChannelData or Data indications, framed in place in the PeerPacket's headroom (no copy, no
// allocation). Two of our own clients reach each other internally (hairpin), never through the
// network.
#include <algorithm>
#include <array>
#include <cstring>

#include "request.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/data_indication.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::turn {

namespace attr = stun::attr;

static_assert(PeerPacket::kHeadroom >= stun::kDataIndicationMaxHeadroom);
static_assert(PeerPacket::kHeadroom >= stun::kChannelDataHeaderSize);
static_assert(PeerPacket::kTailroom >= stun::kDataIndicationMaxTailroom);

// ---------------------------------------------------------------------------------------------
// Client -> peer

// RFC 8656 §11.2 "Receiving a Send Indication". Not authenticated; anything wrong is dropped
// silently.
void Server::handle_indication(const FiveTuple& client, const stun::MessageView& msg,
                               const Now& now) {
  if (msg.method() != stun::Method::kSend) return;
  // RFC 8489 §6.3.2: an indication with unknown comprehension-required attributes is discarded;
  // so is DONT-FRAGMENT here, since we cannot set DF on relayed datagrams.
  std::array<uint16_t, 1> unknown{};
  if (msg.unknown_required_attributes(unknown) > 0 || msg.find(attr::kDontFragment)) return;
  // The indication must come from an allocation's 5-tuple and carry XOR-PEER-ADDRESS and DATA.
  Allocation* a = table_.find(client);
  if (a == nullptr) return;
  const auto peer_attr = msg.find(attr::kXorPeerAddress);
  const auto data = msg.find(attr::kData);
  if (!peer_attr || !data) return;
  const auto peer = stun::decode_xor_address(*peer_attr, msg.transaction_id());
  if (!peer || peer->family() != a->relayed.family()) return;
  // A permission for the peer's IP must exist (§9), else the indication is dropped.
  if (a->find_permission(peer->ip, now.mono_ms) == nullptr) {
    deps_.observer.on_dropped(client, "Send indication without permission");
    return;
  }
  // The DATA goes to the peer in a UDP datagram from the relayed address (judged afresh).
  PeerVerdict verdict;
  relay_to_peer(*a, *peer, *data, now, verdict);
}

// RFC 8656 §12.6 "Receiving a ChannelData Message".
void Server::handle_channel_data(const FiveTuple& client, ByteView bytes, const Now& now) {
  const auto frame = stun::parse_channel_data(bytes);
  if (!frame) return;  // malformed ChannelData is discarded (§12.4)
  // A channel bound on this 5-tuple's allocation, with a permission for its peer, or discard.
  Allocation* a = table_.find(client);
  if (a == nullptr) return;
  Channel* channel = a->find_channel(frame->channel, now.mono_ms);
  if (channel == nullptr) return;
  if (a->find_permission(channel->peer.ip, now.mono_ms) == nullptr) return;
  relay_to_peer(*a, channel->peer, frame->payload, now, channel->verdict);
}

void Server::relay_to_peer(Allocation& from, const SocketAddress& peer, ByteView payload,
                           const Now& now, PeerVerdict& verdict) {
  if (Allocation* target = table_.find_by_relayed(peer)) {
    return deliver_hairpin(from, *target, payload, now);
  }
  // A permission is per IP, so one granted for a fellow client's relayed address (or for our own
  // host) must not open the other ports of that IP: the address and port are judged here, with
  // the channel's cached verdict when it is still current (peer_reachable counts refusals).
  if (!peer_reachable(from, peer, verdict)) return;
  if (!within_bandwidth(from.to_peer_budget, payload.size(), now)) return;
  if (verdict.own_relay && is_live_relay(peer)) {
    // A relay of another worker of this server: the kernel delivers it locally (to the bind
    // address, not the public one), and that worker presents it under our public address.
    counters_.add(metric::kHairpinPackets);
    deps_.outbox.to_peer(from.id, local_form(peer), payload);
    return;
  }
  const auto t = static_cast<size_t>(from.client.transport);
  counters_.add(metric::kRelayedPackets, metric::kToPeer + t);
  counters_.add(metric::kRelayedBytes, metric::kToPeer + t, payload.size());
  deps_.outbox.to_peer(from.id, peer, payload);
}

// Both ends are our clients: deliver internally, as if it had arrived on the target's relay socket
// from our relayed address. Cloud 1:1 NAT would drop the hairpin otherwise.
void Server::deliver_hairpin(Allocation& from, Allocation& target, ByteView payload,
                             const Now& now) {
  if (payload.size() > relay_scratch_.size() - PeerPacket::kHeadroom - PeerPacket::kTailroom) {
    return;
  }
  if (!within_bandwidth(from.to_peer_budget, payload.size(), now)) return;
  uint8_t* start = relay_scratch_.data() + PeerPacket::kHeadroom;
  std::memcpy(start, payload.data(), payload.size());
  counters_.add(metric::kHairpinPackets);
  on_peer_datagram(target.id, from.relayed, PeerPacket{start, payload.size()}, now);
}

// ---------------------------------------------------------------------------------------------
// Peer -> client

// RFC 8656 §11.3 "Receiving a UDP Datagram" / §12.7 "Relaying Data from the Peer".
void Server::on_peer_datagram(AllocationId relay, const SocketAddress& source, PeerPacket packet,
                              const Now& now) {
  Allocation* a = table_.find(relay);
  if (a == nullptr || packet.length > 0xFFFF - 64) return;
  // Our listeners only ever answer clients, and the other services of our host are not peers:
  // never relay what they send (the loop of RFC 8656 §21.1.7; a spoofed relayed address).
  if (from_own_service(source)) return;
  // From another worker's relay socket, the source is its local address; clients know it by the
  // advertised one (the only case where the two differ is behind 1:1 NAT).
  const SocketAddress peer = public_form(source);
  // §11.3: data from a peer without a permission is dropped.
  if (a->find_permission(peer.ip, now.mono_ms) == nullptr) return;
  if (!within_bandwidth(a->to_client_budget, packet.length, now)) return;
  // §12.7: a channel bound to the peer means ChannelData; otherwise a Data indication (§11.3).
  if (const Channel* channel = a->find_channel_for(peer, now.mono_ms)) {
    return send_channel_data(*a, channel->number, packet);
  }
  send_data_indication(*a, peer, packet);
}

// ChannelData (RFC 8656 §12.4), framed in place in the headroom; padded over streams only (§12.5).
void Server::send_channel_data(const Allocation& to, uint16_t channel, PeerPacket packet) {
  uint8_t* start = packet.payload - stun::kChannelDataHeaderSize;
  store_be16(start, channel);
  store_be16(start + 2, static_cast<uint16_t>(packet.length));
  size_t total = stun::kChannelDataHeaderSize + packet.length;
  if (to.client.transport != Transport::kUdp) {
    const size_t pad = (4 - (total & 3)) & 3;
    std::memset(start + total, 0, pad);
    total += pad;
  }
  count_to_client(to, packet.length);
  deps_.outbox.to_client(to.client, {start, total});
}

// A Data indication (RFC 8656 §11.3: XOR-PEER-ADDRESS and DATA) with a fresh transaction id,
// framed in place by the stun codec.
void Server::send_data_indication(const Allocation& to, const SocketAddress& peer,
                                  PeerPacket packet) {
  stun::TransactionId transaction{};
  const uint64_t r1 = next_random();
  const uint64_t r2 = next_random();
  for (size_t i = 0; i < 8; ++i) transaction[i] = static_cast<uint8_t>(r1 >> (8 * i));
  for (size_t i = 0; i < 4; ++i) transaction[8 + i] = static_cast<uint8_t>(r2 >> (8 * i));
  const ByteView message =
      stun::frame_data_indication(packet.payload, packet.length, peer, transaction);
  count_to_client(to, packet.length);
  deps_.outbox.to_client(to.client, message);
}

// ---------------------------------------------------------------------------------------------
// Budgets and counters

bool Server::within_bandwidth(policy::RateBucket& budget, size_t bytes, const Now& now) noexcept {
  const uint64_t rate = config_.max_bandwidth_per_allocation;
  if (rate == 0) return true;
  // One second's worth, and never less than the largest datagram (it must be able to pass).
  const uint64_t burst = std::max<uint64_t>(rate, 65536);
  if (budget.try_take(bytes, now.mono_ms, rate, burst)) return true;
  counters_.add(metric::kBandwidthDroppedPackets);
  counters_.add(metric::kBandwidthDroppedBytes, 0, bytes);
  return false;
}

void Server::count_to_client(const Allocation& a, size_t payload_bytes) noexcept {
  const auto t = static_cast<size_t>(a.client.transport);
  counters_.add(metric::kRelayedPackets, metric::kToClient + t);
  counters_.add(metric::kRelayedBytes, metric::kToClient + t, payload_bytes);
}

uint64_t Server::next_random() noexcept {
  // splitmix64 from its own random seed: fast enough for every Data indication; its state keys
  // nothing else (tokens and ports have their own secrets).
  transaction_state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = transaction_state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace turnpike::turn
