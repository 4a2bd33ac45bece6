// A turn::Outbox that keeps a copy of everything the server sends, for assertions.
#pragma once

#include <cstdint>
#include <vector>

#include "turnpike/turn/interfaces.h"

namespace turnpike::testing {

struct ClientPacket {
  FiveTuple client;
  std::vector<uint8_t> bytes;
};

struct PeerPacketSent {
  turn::AllocationId relay;
  SocketAddress peer;
  std::vector<uint8_t> bytes;
};

class RecordingOutbox final : public turn::Outbox {
 public:
  void to_client(const FiveTuple& client, ByteView bytes) override {
    ++client_count;
    client_bytes += bytes.size();
    if (!count_only) client_packets.push_back({client, {bytes.begin(), bytes.end()}});
  }
  void to_peer(turn::AllocationId relay, const SocketAddress& peer, ByteView bytes) override {
    ++peer_count;
    peer_bytes += bytes.size();
    if (!count_only) peer_packets.push_back({relay, peer, {bytes.begin(), bytes.end()}});
  }

  // Packets sent to `client` since index `from` of client_packets.
  [[nodiscard]] std::vector<ClientPacket> for_client(const FiveTuple& client,
                                                     size_t from = 0) const {
    std::vector<ClientPacket> out;
    for (size_t i = from; i < client_packets.size(); ++i) {
      if (client_packets[i].client == client) out.push_back(client_packets[i]);
    }
    return out;
  }
  void clear() {
    client_packets.clear();
    peer_packets.clear();
    client_count = peer_count = client_bytes = peer_bytes = 0;
  }

  std::vector<ClientPacket> client_packets;
  std::vector<PeerPacketSent> peer_packets;
  // Counted always; kept (copied) unless count_only (the allocation-free data path test).
  bool count_only = false;
  size_t client_count = 0;
  size_t peer_count = 0;
  size_t client_bytes = 0;
  size_t peer_bytes = 0;
};

// An Observer that counts what the server reports.
class RecordingObserver final : public turn::Observer {
 public:
  void on_allocation_created(const FiveTuple&, const SocketAddress&, std::string_view) override {
    ++created;
  }
  void on_allocation_deleted(const FiveTuple&, std::string_view) override { ++deleted; }
  void on_auth_failure(const FiveTuple&, turn::AuthFailure f) override {
    auth_failures.push_back(f);
  }
  void on_peer_denied(const FiveTuple&, const SocketAddress& peer) override {
    denied_peers.push_back(peer);
  }
  void on_dropped(const FiveTuple&, std::string_view) override { ++dropped; }

  size_t created = 0;
  size_t deleted = 0;
  size_t dropped = 0;
  std::vector<turn::AuthFailure> auth_failures;
  std::vector<SocketAddress> denied_peers;
};

}  // namespace turnpike::testing
