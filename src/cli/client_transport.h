// One client connection to the TURN server on a libuv loop: a connected UDP socket, a TCP stream,
// or TLS over TCP with OpenSSL memory BIOs (the socket I/O stays in libuv). Incoming bytes are
// handed on as frames: a datagram over UDP; over streams, STUN messages and ChannelData cut by
// stun::StreamFramer (ChannelData without its padding).
//
// No per-packet heap allocation: receive buffers are shared by every transport on the loop (the
// callbacks run one at a time), and the stream write queue is two vectors that keep their
// capacity.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tls_util.h"
#include "turnpike/stun/stream_framer.h"
#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::cli {

// Buffers shared by all transports of one loop.
struct TransportBuffers {
  // Socket reads. UDP sockets use recvmmsg (UV_UDP_RECVMMSG): libuv cuts the buffer into 64 KiB
  // slots, one datagram each, up to 20 per system call.
  static constexpr size_t kRxSize = 20 * 65536;
  std::vector<uint8_t> rx = std::vector<uint8_t>(kRxSize);
  std::vector<uint8_t> plain = std::vector<uint8_t>(65536);  // TLS plaintext
};

class ClientTransport {
 public:
  class Handler {
   public:
    virtual void on_connected() = 0;
    virtual void on_frame(ByteView frame) = 0;
    // The connection failed or was closed by the server; the transport is closing itself.
    virtual void on_transport_error(const std::string& what) = 0;

   protected:
    ~Handler() = default;
  };

  enum class SendResult : uint8_t { kSent, kBlocked, kFailed };
  static constexpr size_t kMaxBacklog = 4u << 20;    // stream bytes queued before kBlocked
  static constexpr size_t kTlsRecordTarget = 16000;  // TLS plaintext per record (max 16384)

  ClientTransport(uv_loop_t* loop, Transport transport, SSL_CTX* ssl_ctx, TransportBuffers& buffers,
                  Handler& handler);
  ~ClientTransport() = default;
  ClientTransport(const ClientTransport&) = delete;
  ClientTransport& operator=(const ClientTransport&) = delete;

  // Starts connecting; on_connected follows (synchronously for UDP). `host` names the server for
  // TLS SNI and certificate checks. false + *error when it cannot even start.
  bool start(const SocketAddress& server, const std::string& host, std::string* error);
  // UDP frames of every transport of this thread are queued and leave together (sendmmsg, UDP
  // GSO): the load's loop calls this before it polls and after it handled I/O.
  static void flush_udp();
  // Sends one frame (the caller pads ChannelData over streams). Over UDP a datagram; kBlocked
  // when the socket buffer is full (UDP) or the stream backlog exceeds kMaxBacklog. Over TLS the
  // frame waits for flush() (or until kTlsRecordTarget bytes are gathered).
  SendResult send(ByteView frame);
  // TLS: encrypts the gathered frames as one record and queues it. No-op for UDP and TCP.
  void flush();
  // Closes the socket (idempotent). The handle is released asynchronously: the object must stay
  // alive until closed() is true.
  void close();
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] bool connected() const noexcept { return connected_; }
  // UDP: a send the kernel refused surfaces at flush time (counted there, not per frame).
  [[nodiscard]] static uint64_t udp_send_errors();
  [[nodiscard]] size_t backlog() const noexcept {
    return plain_.size() + pending_.size() + inflight_.size();
  }

 private:
  static void on_close(uv_handle_t* h);
  static void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void on_udp_recv(uv_udp_t* udp, ssize_t n, const uv_buf_t* buf, const sockaddr*, unsigned);
  static void on_tcp_connect(uv_connect_t* req, int status);
  static void on_tcp_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);

  // The steps of start(): the libuv handle, then UDP's connect, or TLS's session and the TCP
  // connect.
  void init_handle(Family family);
  bool start_udp(const SocketAddress& server, const sockaddr* addr, std::string* error);
  bool start_tls(const std::string& host, std::string* error);
  bool start_tcp(const sockaddr* addr, std::string* error);
  void fail(const std::string& what);
  void on_stream_bytes(ByteView bytes);
  void on_tls_bytes(ByteView bytes);
  void feed_framer(ByteView plain);
  void flush_tls();  // moves TLS output from the write BIO into the write queue
  void kick_write();
  uv_handle_t* handle() noexcept;

  uv_loop_t* loop_;
  Transport transport_;
  SSL_CTX* ssl_ctx_;
  TransportBuffers& buffers_;
  Handler& handler_;
  union {
    uv_udp_t udp_;
    uv_tcp_t tcp_;
  };
  uv_connect_t connect_req_{};
  uv_write_t write_req_{};
  SslPtr ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  stun::StreamFramer framer_;
  std::vector<uint8_t> plain_;     // TLS: frames not yet encrypted
  std::vector<uint8_t> pending_;   // queued stream bytes
  std::vector<uint8_t> inflight_;  // bytes of the write in progress
  bool initialized_ = false;
  bool connected_ = false;
  int udp_fd_ = -1;       // UDP: the descriptor the batch writes to
  SocketAddress server_;  // UDP: the destination of every frame
  bool handshake_done_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace turnpike::cli
