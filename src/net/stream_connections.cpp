#include "turnpike/net/stream_connections.h"

#include <spdlog/spdlog.h>

#include "turnpike/net/loop_clock.h"
#include "turnpike/net/metrics.h"

namespace turnpike::net {
namespace {

// What each transport event counts, and what it logs (rate-limited; nothing when `what` is null).
struct EventInfo {
  metrics::Family family;
  spdlog::level::level_enum level = spdlog::level::debug;
  const char* what = nullptr;
};

EventInfo event_info(StreamEvent event) {
  using spdlog::level::debug;
  using spdlog::level::info;
  switch (event) {
    case StreamEvent::kGarbage:
      return {metric::kStreamGarbage, debug, "not STUN, closing"};
    case StreamEvent::kTimeout:
      return {metric::kStreamTimeouts, debug,
              "nothing received within the handshake timeout, closing"};
    case StreamEvent::kDrop:
      return {metric::kStreamDropped, debug, nullptr};
    case StreamEvent::kTlsHandshake:
      return {metric::kTlsHandshakes, debug, nullptr};
    case StreamEvent::kTlsFailure:
      return {metric::kTlsFailures, info, "handshake or record error"};
    case StreamEvent::kIdle:
      return {metric::kStreamIdleClosed, debug,
              "no allocation within limits.stream_idle_timeout, closing"};
    case StreamEvent::kUntrustedProxy:
      return {metric::kProxyUntrusted, info,
              "not in this listener's proxy_protocol_from: PROXY header refused, closing"};
    case StreamEvent::kHttpQueueFull:
      return {metric::kHttpQueueFull, info, "the worker's HTTP write budget is spent, closing"};
  }
  return {metric::kStreamGarbage, debug, nullptr};
}

}  // namespace

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

bool StreamConnections::charge_http_queue(size_t bytes) noexcept {
  if (bytes > kMaxHttpQueuedBytes - http_queued_) return false;
  http_queued_ += bytes;
  return true;
}

void StreamConnections::on_allocation_created(const FiveTuple& client, const SocketAddress&,
                                              std::string_view) {
  if (client.transport == Transport::kUdp) return;
  const auto it = connections_.find(client.connection_id);
  if (it != connections_.end()) it->second->on_allocation_created();
}

// Expiry, Refresh with lifetime 0, or the end of a drain: the connection stays open for the idle
// timeout, then closes unless a new allocation arrived. (When the connection itself closed, it
// left the table before the server deleted its allocation.)
void StreamConnections::on_allocation_deleted(const FiveTuple& client, std::string_view) {
  if (client.transport == Transport::kUdp) return;
  const auto it = connections_.find(client.connection_id);
  if (it != connections_.end()) it->second->on_allocation_deleted();
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
  const EventInfo e = event_info(event);
  counters_.add(e.family);
  if (e.what == nullptr || !spdlog::should_log(e.level) || !log_.allowed()) return;
  const FiveTuple& tuple = connection.tuple();
  if (event == StreamEvent::kTlsFailure) {
    spdlog::log(e.level, "tls {}: {}: {}", tuple.client.to_string(), e.what,
                detail != nullptr ? detail : "unknown");
  } else {
    spdlog::log(e.level, "{} {}: {} (listener {})", transport_name(tuple.transport),
                tuple.client.to_string(), e.what, tuple.server.to_string());
  }
}

Now StreamConnections::now() const noexcept { return loop_now(loop_); }

void StreamConnections::run_scheduled_flush(uint64_t connection_id) {
  const auto it = connections_.find(connection_id);
  if (it != connections_.end()) it->second->run_scheduled_flush();
}

}  // namespace turnpike::net
