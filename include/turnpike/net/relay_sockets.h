// The relay sockets of one worker (RFC 8656 §2: the relayed transport address of each
// allocation), keyed by allocation: binds them from the shared port range for the server
// (turn::RelayAllocator), sends to peers from them (the to_peer side of the outbox) and hands
// what peers send to the server with the allocation that received it.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "turnpike/net/batched_io.h"
#include "turnpike/net/shared_relay_ports.h"
#include "turnpike/net/udp_socket.h"
#include "turnpike/turn/server.h"

namespace turnpike::net {

class RelaySockets final : public turn::RelayAllocator, public DatagramHandler {
 public:
  // A peer's burst (a video keyframe, or a sender using UDP GSO) must not overflow the 208 KiB
  // default while the worker is busy elsewhere (seen as RcvbufErrors under load). Memory is charged
  // only while datagrams wait; beyond net.core.rmem_max it needs CAP_NET_ADMIN.
  static constexpr int kBufferBytes = 1024 * 1024;

  RelaySockets(uv_loop_t* loop, BatchedIo& io, SharedRelayPorts& ports, const IpAddress& ipv4,
               const std::optional<IpAddress>& ipv6)
      : loop_(loop), io_(io), ports_(ports), ipv4_(ipv4), ipv6_(ipv6) {}
  // The server that receives peer datagrams (it is built after this table, which it uses).
  void attach(turn::Server& server) noexcept { server_ = &server; }

  // From an allocation's relay socket to `peer` (queued in the worker's batch).
  void to_peer(turn::AllocationId relay, const SocketAddress& peer, ByteView bytes) noexcept {
    if (relay.index >= slots_.size()) return;
    const Slot& slot = slots_[relay.index];
    if (slot.socket && slot.owner == relay) io_.queue(slot.socket->fd(), peer, bytes);
  }
  void close_all();

  // turn::RelayAllocator
  std::optional<SocketAddress> open(turn::AllocationId owner,
                                    const turn::RelayRequest& request) override;
  void close(turn::AllocationId owner) override;

  // DatagramHandler
  uv_buf_t receive_buffer() noexcept override { return io_.receive_buffer(); }
  void on_datagram(UdpSocket& socket, uint8_t* payload, size_t length,
                   const sockaddr* from) override;
  void on_batch_end() override { io_.flush(); }

 private:
  struct Slot {
    std::unique_ptr<UdpSocket> socket;
    turn::AllocationId owner;
  };
  std::optional<uint16_t> acquire_port(const turn::RelayRequest& request);
  std::unique_ptr<UdpSocket> bind(const IpAddress& ip, const turn::RelayRequest& request);
  void close_socket(Slot& slot);

  uv_loop_t* loop_;
  BatchedIo& io_;
  SharedRelayPorts& ports_;
  IpAddress ipv4_;
  std::optional<IpAddress> ipv6_;
  turn::Server* server_ = nullptr;
  std::vector<Slot> slots_;  // indexed by AllocationId::index
};

}  // namespace turnpike::net
