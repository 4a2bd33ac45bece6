// What a StreamConnection needs from the worker that owns it, and nothing more: buffers to read
// and decrypt into, admission under the connection limits, where frames go, a flush slot, the
// worker's HTTP write budget, the time, and a place to count what went wrong.
#pragma once

#include <uv.h>

#include <cstdint>

#include "turnpike/util/bytes.h"
#include "turnpike/util/time.h"

namespace turnpike::net {

class StreamConnection;

enum class StreamEvent : uint8_t {
  kGarbage,         // not STUN/ChannelData (or a bad PROXY header): closed
  kTimeout,         // nothing useful within the handshake timeout: closed
  kDrop,            // output dropped: the client's write queue was full
  kTlsHandshake,    // a TLS handshake completed
  kTlsFailure,      // a TLS handshake or record error (detail: OpenSSL's reason)
  kIdle,            // TURN without an allocation for the idle timeout: closed
  kUntrustedProxy,  // a PROXY-protocol listener, a source outside proxy_protocol_from: reset
  kHttpQueueFull,   // the worker's HTTP write budget is spent: closed
};

class StreamHost {
 public:
  static constexpr size_t kTlsPlaintextSize = 16384;

  virtual ~StreamHost() = default;
  virtual uv_buf_t read_buffer() noexcept = 0;
  virtual uint8_t* tls_plaintext_buffer() noexcept = 0;  // kTlsPlaintextSize bytes
  // Connection limits: whether a just-accepted connection may stay (counted when it may).
  // `per_ip` is false on PROXY protocol listeners: the real source comes with the header.
  virtual bool admit(StreamConnection& connection, bool per_ip) = 0;
  // A PROXY header named the real source: the per-IP limit applies to it now.
  virtual bool admit_proxied_source(StreamConnection& connection) = 0;
  virtual void on_frame(StreamConnection& connection, ByteView frame) = 0;
  virtual void on_closed(StreamConnection& connection) = 0;
  // HTTP output that waits in libuv's queue counts against one budget per worker: false when
  // `bytes` more do not fit (the connection is then closed); release() when they left.
  virtual bool charge_http_queue(size_t bytes) noexcept = 0;
  virtual void release_http_queue(size_t bytes) noexcept = 0;
  // Coalesced output waits for the worker's next flush point.
  virtual void schedule_flush(StreamConnection& connection) = 0;
  virtual void on_event(StreamConnection& connection, StreamEvent event,
                        const char* detail = nullptr) = 0;
  [[nodiscard]] virtual Now now() const noexcept = 0;
};

}  // namespace turnpike::net
