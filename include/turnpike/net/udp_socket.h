// One bound UDP socket on a worker's loop, reading with recvmmsg into the worker's shared receive
// buffer: a client listener (UdpListener) or an allocation's relay socket (RelaySockets). What it
// receives goes to a DatagramHandler; what it sends leaves through the worker's BatchedIo, which
// writes to fd() directly.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>

#include "turnpike/net/uv_handle.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::net {

class UdpSocket;

// Where a UDP socket's datagrams go. `payload` lies in the receive buffer with
// turn::PeerPacket::kHeadroom writable bytes before it (and kTailroom after it).
class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  // The buffer the next recvmmsg batch is read into (flushes what still points into it first).
  virtual uv_buf_t receive_buffer() noexcept = 0;
  virtual void on_datagram(UdpSocket& socket, uint8_t* payload, size_t length,
                           const sockaddr* from) = 0;
  // The end of a recvmmsg batch: what it produced leaves now.
  virtual void on_batch_end() = 0;
};

class UdpSocket {
 public:
  UdpSocket(DatagramHandler& handler, const SocketAddress& local)
      : handler_(handler), local_(local) {}
  ~UdpSocket() { close(); }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds `local` (with SO_REUSEPORT when `shared`: every worker binds the same listener) and
  // starts reading. Returns 0 or a libuv error; on error nothing stays open.
  int open(uv_loop_t* loop, bool shared);
  // Stops reading and closes; `then` runs once the descriptor is really closed (a relay port goes
  // back to the pool only then). The caller flushes queued datagrams first: they name fd().
  void close(std::function<void()> then = {});

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const SocketAddress& local() const noexcept { return local_; }
  // Owner-defined tag (the relay table stores the allocation slot's generation here).
  uint64_t tag = 0;

 private:
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                      unsigned flags);

  DatagramHandler& handler_;
  SocketAddress local_;
  UvHandle<uv_udp_t> udp_;
  int fd_ = -1;
};

}  // namespace turnpike::net
