#include "turnpike/net/stream_connections.h"

#include <spdlog/spdlog.h>

#include "turnpike/net/loop_clock.h"
#include "turnpike/net/metrics.h"

namespace turnpike::net {

StreamConnections::StreamConnections(uv_loop_t* loop, turn::Server& server, BatchedIo& io,
                                     SharedConnectionLimits& limits, EventLog& log,
                                     metrics::Counters& counters)
    : loop_(loop),
      server_(server),
      io_(io),
      limits_(limits),
      log_(log),
      counters_(counters),
      read_buffer_(BatchedIo::kMaxDatagram),
      tls_plaintext_(kTlsPlaintextSize) {}

void StreamConnections::accept(uv_stream_t* listener, const SocketAddress& local,
                               const StreamConnection::Options& options) {
  const uint64_t id = next_id_++;
  StreamConnection* c = StreamConnection::accept(*this, listener, local, options, id);
  if (c != nullptr) {
    connections_.emplace(id, c);
    counters_.add(metric::kConnectionsAccepted, static_cast<size_t>(options.transport) - 1);
  }
}

void StreamConnections::close_all() {
  while (!connections_.empty()) connections_.begin()->second->close();  // erases itself
}

uv_buf_t StreamConnections::read_buffer() noexcept {
  return uv_buf_init(reinterpret_cast<char*>(read_buffer_.data()),
                     static_cast<unsigned>(read_buffer_.size()));
}

bool StreamConnections::admit(StreamConnection& connection, bool per_ip) {
  StreamConnection::LimitSlot& slot = connection.limit_slot();
  std::optional<IpAddress> source;
  if (per_ip) source = connection.tuple().client.ip;
  const auto verdict = limits_.try_add(source);
  if (verdict == SharedConnectionLimits::Verdict::kAccepted) {
    slot.counted = true;
    slot.source = source;
    return true;
  }
  const bool total = verdict == SharedConnectionLimits::Verdict::kTotalLimit;
  counters_.add(metric::kConnectionsRejected, total ? metric::kTotalLimit : metric::kPerIpLimit);
  if (spdlog::should_log(spdlog::level::info) && log_.allowed()) {
    spdlog::info(
        "{} {}: connection refused: {}", transport_name(connection.tuple().transport),
        connection.tuple().client.to_string(),
        total ? "limits.max_connections reached" : "limits.max_connections_per_ip reached");
  }
  return false;
}

bool StreamConnections::admit_proxied_source(StreamConnection& connection) {
  StreamConnection::LimitSlot& slot = connection.limit_slot();
  if (!slot.counted || slot.source) return true;
  const IpAddress& source = connection.tuple().client.ip;
  if (!limits_.attach(source)) {
    counters_.add(metric::kConnectionsRejected, metric::kPerIpLimit);
    return false;
  }
  slot.source = source;
  return true;
}

void StreamConnections::on_frame(StreamConnection& connection, ByteView frame) {
  server_.on_client_message(connection.tuple(), frame, now());
}

void StreamConnections::on_closed(StreamConnection& connection) {
  StreamConnection::LimitSlot& slot = connection.limit_slot();
  if (slot.counted) {
    limits_.remove(slot.source);
    slot.counted = false;
  }
  // RFC 8656 §3.1: over TCP/TLS, the allocation ends with the connection.
  if (connections_.erase(connection.tuple().connection_id) > 0) {
    server_.on_client_closed(connection.tuple(), now());
  }
}

void StreamConnections::on_event(StreamConnection& connection, StreamEvent event,
                                 const char* detail) {
  const FiveTuple& tuple = connection.tuple();
  switch (event) {
    case StreamEvent::kGarbage:
      counters_.add(metric::kStreamGarbage);
      if (spdlog::should_log(spdlog::level::debug) && log_.allowed()) {
        spdlog::debug("{} {}: not STUN, closing", transport_name(tuple.transport),
                      tuple.client.to_string());
      }
      return;
    case StreamEvent::kTimeout:
      counters_.add(metric::kStreamTimeouts);
      if (spdlog::should_log(spdlog::level::debug) && log_.allowed()) {
        spdlog::debug("{} {}: nothing received within the handshake timeout, closing",
                      transport_name(tuple.transport), tuple.client.to_string());
      }
      return;
    case StreamEvent::kDrop:
      counters_.add(metric::kStreamDropped);
      return;
    case StreamEvent::kTlsHandshake:
      counters_.add(metric::kTlsHandshakes);
      return;
    case StreamEvent::kTlsFailure:
      counters_.add(metric::kTlsFailures);
      if (spdlog::should_log(spdlog::level::info) && log_.allowed()) {
        spdlog::info("tls {}: handshake or record error: {}", tuple.client.to_string(),
                     detail != nullptr ? detail : "unknown");
      }
      return;
  }
}

Now StreamConnections::now() const noexcept { return loop_now(loop_); }

void StreamConnections::run_scheduled_flush(uint64_t connection_id) {
  const auto it = connections_.find(connection_id);
  if (it != connections_.end()) it->second->run_scheduled_flush();
}

}  // namespace turnpike::net
