// The TCP and TLS client connections of one worker (RFC 8656 §3.1; RFC 7443 for TLS with ALPN):
// the table by connection id, admission under the daemon-wide connection limits, and the host
// every StreamConnection talks to. Frames go to the turn::Server; the server's answers come back
// through send(); its allocation events (turn::Observer, forwarded by the EventLog) arm and
// disarm each connection's idle timer. HTTP output queued in libuv is capped per worker.
#pragma once

#include <uv.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "turnpike/net/batched_io.h"
#include "turnpike/net/connection_limits.h"
#include "turnpike/net/event_log.h"
#include "turnpike/net/metrics_board.h"
#include "turnpike/net/stream_connection.h"
#include "turnpike/turn/server.h"

namespace turnpike::net {

class StreamConnections final : public StreamHost, public StreamFlushTarget, public turn::Observer {
 public:
  // Most HTTP response bytes waiting for slow readers, all connections of one worker together
  // (each connection also has StreamConnection::kMaxQueuedBytes).
  static constexpr size_t kMaxHttpQueuedBytes = 16u << 20;

  StreamConnections(uv_loop_t* loop, turn::Server& server, BatchedIo& io,
                    SharedConnectionLimits& limits, EventLog& log, metrics::Counters& counters);
  StreamConnections(const StreamConnections&) = delete;
  StreamConnections& operator=(const StreamConnections&) = delete;

  // Accepts a pending connection on `listener` (a StreamListener's socket).
  void accept(uv_stream_t* listener, const SocketAddress& local,
              const StreamConnection::Options& options);
  // To the client of connection `connection_id` (gone: nothing happens).
  void send(uint64_t connection_id, ByteView bytes) {
    const auto it = connections_.find(connection_id);
    if (it != connections_.end()) it->second->send(bytes);
  }
  void close_all();
  [[nodiscard]] size_t size() const noexcept { return connections_.size(); }
  [[nodiscard]] size_t http_queued() const noexcept { return http_queued_; }

  // StreamHost
  uv_buf_t read_buffer() noexcept override;
  uint8_t* tls_plaintext_buffer() noexcept override { return tls_plaintext_.data(); }
  bool admit(StreamConnection& connection, bool per_ip) override;
  bool admit_proxied_source(StreamConnection& connection) override;
  void on_frame(StreamConnection& connection, ByteView frame) override;
  void on_closed(StreamConnection& connection) override;
  bool charge_http_queue(size_t bytes) noexcept override;
  void release_http_queue(size_t bytes) noexcept override {
    http_queued_ -= std::min(bytes, http_queued_);
  }
  void schedule_flush(StreamConnection& connection) override {
    io_.schedule_stream_flush(connection.tuple().connection_id);
  }
  void on_event(StreamConnection& connection, StreamEvent event, const char* detail) override;
  [[nodiscard]] Now now() const noexcept override;
  // StreamFlushTarget
  void run_scheduled_flush(uint64_t connection_id) override;
  // turn::Observer (allocation events only)
  void on_allocation_created(const FiveTuple& client, const SocketAddress& relayed,
                             std::string_view username) override;
  void on_allocation_deleted(const FiveTuple& client, std::string_view reason) override;

 private:
  uv_loop_t* loop_;
  turn::Server& server_;
  BatchedIo& io_;
  SharedConnectionLimits& limits_;
  EventLog& log_;
  metrics::Counters& counters_;
  std::unordered_map<uint64_t, StreamConnection*> connections_;
  uint64_t next_id_ = 1;
  size_t http_queued_ = 0;  // bytes under charge_http_queue
  std::vector<uint8_t> read_buffer_;
  std::vector<uint8_t> tls_plaintext_;
};

}  // namespace turnpike::net
