// A simple deadline-bounded client connection (UDP, TCP or TLS over a non-blocking socket driven
// by poll) for the request/response subcommands: `turnpike stun` and the credentials URL fetch.
// The load generator uses libuv instead (client_transport.h).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "tls_util.h"
#include "turnpike/stun/stream_framer.h"
#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::cli {

class BlockingConnection {
 public:
  // Connects (and for TLS completes the handshake, `host` naming the server for SNI and
  // verification) within timeout_ms. ctx is required for TLS only.
  static std::unique_ptr<BlockingConnection> open(Transport transport, const SocketAddress& server,
                                                  const std::string& host, SSL_CTX* ctx,
                                                  int timeout_ms, std::string* error);
  ~BlockingConnection();
  BlockingConnection(const BlockingConnection&) = delete;
  BlockingConnection& operator=(const BlockingConnection&) = delete;

  // Sends everything (one datagram over UDP) within timeout_ms.
  bool write_all(ByteView data, int timeout_ms, std::string* error);
  // Reads what is available (one datagram over UDP). >0: bytes read; 0: timeout; -1: closed or
  // failed (*error says which).
  long read_some(MutableByteView buffer, int timeout_ms, std::string* error);

  enum class Recv { kFrame, kTimeout, kError };
  // The next STUN message or ChannelData frame: a datagram over UDP, cut from the stream by the
  // StreamFramer over TCP/TLS.
  Recv read_frame(std::vector<uint8_t>& out, int timeout_ms, std::string* error);

  [[nodiscard]] SocketAddress local_address() const;
  [[nodiscard]] Transport transport() const noexcept { return transport_; }

 private:
  BlockingConnection(Transport transport, int fd) : transport_(transport), fd_(fd) {}
  bool connect_socket(const SocketAddress& server, int64_t deadline_ns, std::string* error);
  bool handshake(SSL_CTX* ctx, const std::string& host, int64_t deadline_ns, std::string* error);
  // poll() for `events` until deadline; false on timeout.
  bool wait(short events, int64_t deadline_ns) const;

  Transport transport_;
  int fd_ = -1;
  SslPtr ssl_;
  stun::StreamFramer framer_;
  std::deque<std::vector<uint8_t>> frames_;  // frames cut but not yet returned
  std::vector<uint8_t> rx_;
};

}  // namespace turnpike::cli
