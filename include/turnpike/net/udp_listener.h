// A client-facing UDP listener (RFC 8656 §3.1, UDP as the client transport): each datagram is one
// STUN message or ChannelData from the client whose address it came from; answers and relayed data
// go back from the same socket.
#pragma once

#include <memory>

#include "turnpike/net/batched_io.h"
#include "turnpike/net/udp_socket.h"
#include "turnpike/turn/server.h"

namespace turnpike::net {

class UdpListener final : public DatagramHandler {
 public:
  // ~4,000 full-size media packets of burst from all clients at once.
  static constexpr int kBufferBytes = 4 * 1024 * 1024;

  UdpListener(uv_loop_t* loop, BatchedIo& io, turn::Server& server, const SocketAddress& local)
      : loop_(loop), io_(io), server_(server), socket_(*this, local) {}

  // Binds (SO_REUSEPORT when `shared`) and starts reading; 0 or a libuv error.
  int open(bool shared);
  void close();
  // To a client of this listener (queued in the worker's batch).
  void send(const SocketAddress& client, ByteView bytes) noexcept {
    io_.queue(socket_.fd(), client, bytes);
  }
  [[nodiscard]] const SocketAddress& local() const noexcept { return socket_.local(); }

  // DatagramHandler
  uv_buf_t receive_buffer() noexcept override { return io_.receive_buffer(); }
  void on_datagram(UdpSocket& socket, uint8_t* payload, size_t length,
                   const sockaddr* from) override;
  void on_batch_end() override { io_.flush(); }

 private:
  uv_loop_t* loop_;
  BatchedIo& io_;
  turn::Server& server_;
  UdpSocket socket_;
};

}  // namespace turnpike::net
