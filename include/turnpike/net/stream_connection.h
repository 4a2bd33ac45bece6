// One TCP or TLS client connection (RFC 8656 §3.1): bytes in -> (TLS decrypt) -> StreamFramer ->
// turn::Server; bytes out -> (TLS encrypt) -> non-blocking write with a bounded queue. The
// allocation made over it dies with it. A connection that has not delivered a complete STUN
// message (or finished its TLS handshake) within the handshake timeout is closed; a TURN
// connection that holds no allocation is closed after the idle timeout (from its first message,
// or from the end of its allocation).
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "turnpike/http/http_session.h"
#include "turnpike/net/stream_host.h"
#include "turnpike/net/uv_handle.h"
#include "turnpike/policy/peer_filter.h"
#include "turnpike/stun/stream_framer.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::net {

class StreamConnection {
 public:
  // Most bytes waiting for the kernel before new data is dropped (relayed media is loss-tolerant;
  // an unbounded queue would let one slow client eat the server's memory).
  static constexpr size_t kMaxQueuedBytes = 4u << 20;

  struct Options {
    Transport transport = Transport::kTcp;
    SSL_CTX* tls = nullptr;             // set for TLS listeners
    http::Handler* http = nullptr;      // set where HTTP is served
    bool http_only = false;             // no TURN on this listener
    bool proxy_protocol = false;        // expect a PROXY v2 header first (behind nginx/HAProxy)
    uint64_t timeout_ms = 10'000;       // handshake / first message / HTTP idle
    uint64_t idle_timeout_ms = 30'000;  // TURN without an allocation; 0 = never
    // With proxy_protocol: the proxies whose connections are accepted (others are reset at once).
    const std::vector<policy::Cidr>* proxy_from = nullptr;
  };

  // Accepts a pending connection on `listener`. Returns null when accept fails.
  static StreamConnection* accept(StreamHost& host, uv_stream_t* listener,
                                  const SocketAddress& local, const Options& options, uint64_t id);

  // To the client. Coalesced: bytes collect in a per-connection buffer and leave in one TLS record
  // / one write when the worker flushes (end of a receive batch, after the I/O phase), or at once
  // past kCoalesceBytes — many relayed packets cost one SSL_write and one system call.
  void send(ByteView bytes);
  // The worker's flush for a connection that scheduled one (StreamHost::schedule_flush).
  void run_scheduled_flush() {
    flush_scheduled_ = false;
    flush_pending();
  }
  static constexpr size_t kCoalesceBytes = 16384;  // one full TLS record of plaintext
  void close();  // idempotent; the object frees itself once its handles are closed
  [[nodiscard]] const FiveTuple& tuple() const noexcept { return tuple_; }
  // The server made / deleted the allocation of this connection's 5-tuple: while one lives, the
  // idle timer is off; when it ends, the idle timeout starts again.
  void on_allocation_created();
  void on_allocation_deleted();

  // Connection-limit bookkeeping (the host): whether this connection is counted, and under which
  // source (none until a PROXY header names it).
  struct LimitSlot {
    bool counted = false;
    std::optional<IpAddress> source;
  };
  LimitSlot& limit_slot() noexcept { return limit_; }

  // libuv callbacks (stream_connection.cpp).
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void on_timeout();
  void on_write_done(size_t bytes, bool charged);

 private:
  StreamConnection(StreamHost& host, uint64_t id) : host_(host) { tuple_.connection_id = id; }
  ~StreamConnection();
  enum class Mode : uint8_t { kUndecided, kTurn, kHttp };
  void process(ByteView bytes);             // after the PROXY header: TLS or plaintext
  bool take_proxy_header(ByteView& bytes);  // false: the connection was closed
  void deliver(ByteView plaintext);         // framer -> server, or the HTTP session
  void decide_mode(ByteView first_bytes);
  void deliver_http(ByteView plaintext);
  void feed_tls(ByteView ciphertext);  // encrypted bytes in
  void flush_tls();                    // encrypted bytes out
  void write_raw(ByteView bytes);
  void send_now(ByteView bytes);
  void flush_pending();  // uncoalesced (HTTP responses, before close_notify)
  void reset();  // closes with a TCP RST (a connection over the limits): no FIN/TIME_WAIT dance

  void finish_close(bool with_reset);  // shared by close() and reset()
  void restart_timer(uint64_t ms);
  void arm_idle_timer();  // TURN without an allocation: closed after idle_timeout_ms_
  bool start_tls(SSL_CTX* tls);
  void configure(const Options& options);  // the per-connection settings, at accept

  StreamHost& host_;
  FiveTuple tuple_;
  UvHandle<uv_tcp_t> tcp_;
  UvHandle<uv_timer_t> timer_;
  bool closing_ = false;
  bool got_frame_ = false;
  bool handshake_done_ = false;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> OpenSSL
  BIO* wbio_ = nullptr;  // OpenSSL -> network
  stun::StreamFramer framer_;
  size_t queued_ = 0;
  Mode mode_ = Mode::kUndecided;
  http::Handler* http_handler_ = nullptr;
  std::unique_ptr<http::HttpSession> http_;
  uint64_t timeout_ms_ = 0;
  uint64_t idle_timeout_ms_ = 0;
  uint32_t allocations_ = 0;  // allocations of our 5-tuple (0 or 1)
  bool close_when_drained_ = false;
  bool flush_scheduled_ = false;  // our id is in the worker's flush list
  std::vector<uint8_t> pending_;  // coalesced output not yet written (plaintext)
  bool awaiting_proxy_header_ = false;
  std::vector<uint8_t> proxy_buffer_;
  LimitSlot limit_;
};

}  // namespace turnpike::net
