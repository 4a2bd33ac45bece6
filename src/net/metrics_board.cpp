// /metrics for one worker: the server's counters, the transport's counters, and gauges read at
// scrape time. No label ever names a user, an address or an allocation.
#include <algorithm>

#include "turnpike/metrics/prometheus.h"
#include "turnpike/net/metrics_board.h"

namespace turnpike::net {

namespace {

void add(WorkerSnapshot& total, const WorkerSnapshot& one) {
  turn::Stats& t = total.stats;
  const turn::Stats& o = one.stats;
  t.allocations_created += o.allocations_created;
  t.allocations_deleted += o.allocations_deleted;
  for (size_t i = 0; i < turn::Stats::kTransports; ++i) {
    t.packets_to_peer[i] += o.packets_to_peer[i];
    t.bytes_to_peer[i] += o.bytes_to_peer[i];
    t.packets_to_client[i] += o.packets_to_client[i];
    t.bytes_to_client[i] += o.bytes_to_client[i];
    total.counters.connections_accepted[i] += one.counters.connections_accepted[i];
  }
  for (size_t i = 0; i < turn::Stats::kAuthFailures; ++i) t.auth_failures[i] += o.auth_failures[i];
  t.hairpin_packets += o.hairpin_packets;
  t.peer_denied += o.peer_denied;
  t.requests += o.requests;
  t.dropped += o.dropped;
  t.unauthenticated_dropped += o.unauthenticated_dropped;
  t.bandwidth_dropped_packets += o.bandwidth_dropped_packets;
  t.bandwidth_dropped_bytes += o.bandwidth_dropped_bytes;
  t.own_listener_denied += o.own_listener_denied;
  t.draining_refused += o.draining_refused;
  for (size_t i = 0; i < 2; ++i) {
    total.counters.connections_rejected[i] += one.counters.connections_rejected[i];
  }
  total.draining = std::max(total.draining, one.draining);
  total.counters.tls_handshakes += one.counters.tls_handshakes;
  total.counters.tls_failures += one.counters.tls_failures;
  total.counters.stream_timeouts += one.counters.stream_timeouts;
  total.counters.stream_garbage += one.counters.stream_garbage;
  total.counters.stream_drops += one.counters.stream_drops;
  total.counters.udp_send_errors += one.counters.udp_send_errors;
  total.counters.udp_datagrams_sent += one.counters.udp_datagrams_sent;
  total.counters.udp_send_syscalls += one.counters.udp_send_syscalls;
  total.counters.udp_gso_messages += one.counters.udp_gso_messages;
  total.allocations += one.allocations;
  total.permissions += one.permissions;
  total.channels += one.channels;
  total.relay_ports_free = one.relay_ports_free;  // one shared pool: the same for every worker
  total.connections += one.connections;
}

}  // namespace

void MetricsBoard::publish(size_t worker, const WorkerSnapshot& snapshot) {
  std::lock_guard lock(mutex_);
  if (worker < slots_.size()) slots_[worker] = snapshot;
}

uint64_t MetricsBoard::allocations() const {
  std::lock_guard lock(mutex_);
  uint64_t total = 0;
  for (const WorkerSnapshot& one : slots_) total += one.allocations;
  return total;
}

std::string MetricsBoard::render() const {
  WorkerSnapshot total;
  {
    std::lock_guard lock(mutex_);
    for (const WorkerSnapshot& one : slots_) add(total, one);
  }
  return render_metrics(total, slots_.size());
}

std::string render_metrics(const WorkerSnapshot& total, size_t workers) {
  metrics::PrometheusWriter w;
  const turn::Stats& s = total.stats;
  const WorkerCounters& counters = total.counters;
  w.family("turnpike_workers", "gauge", "Worker threads (event loops).");
  w.sample("turnpike_workers", static_cast<uint64_t>(workers));
  w.family("turnpike_allocations", "gauge", "TURN allocations active now.");
  w.sample("turnpike_allocations", total.allocations);
  w.family("turnpike_allocations_created_total", "counter", "TURN allocations created.");
  w.sample("turnpike_allocations_created_total", s.allocations_created);
  w.family("turnpike_allocations_deleted_total", "counter",
           "TURN allocations deleted (expired, refreshed to 0, or connection closed).");
  w.sample("turnpike_allocations_deleted_total", s.allocations_deleted);
  w.family("turnpike_permissions", "gauge", "Permissions installed now.");
  w.sample("turnpike_permissions", total.permissions);
  w.family("turnpike_channels", "gauge", "Channel bindings installed now.");
  w.sample("turnpike_channels", total.channels);
  w.family("turnpike_relay_ports_free", "gauge", "Relay ports free in the configured range.");
  w.sample("turnpike_relay_ports_free", total.relay_ports_free);

  w.family("turnpike_relayed_packets_total", "counter",
           "Packets relayed, by direction and the client's transport.");
  for (size_t t = 0; t < turn::Stats::kTransports; ++t) {
    const char* name = transport_name(static_cast<Transport>(t));
    w.sample("turnpike_relayed_packets_total", s.packets_to_peer[t],
             {{"direction", "to_peer"}, {"transport", name}});
    w.sample("turnpike_relayed_packets_total", s.packets_to_client[t],
             {{"direction", "to_client"}, {"transport", name}});
  }
  w.family("turnpike_relayed_bytes_total", "counter",
           "Payload bytes relayed, by direction and the client's transport.");
  for (size_t t = 0; t < turn::Stats::kTransports; ++t) {
    const char* name = transport_name(static_cast<Transport>(t));
    w.sample("turnpike_relayed_bytes_total", s.bytes_to_peer[t],
             {{"direction", "to_peer"}, {"transport", name}});
    w.sample("turnpike_relayed_bytes_total", s.bytes_to_client[t],
             {{"direction", "to_client"}, {"transport", name}});
  }
  w.family("turnpike_hairpin_packets_total", "counter",
           "Packets between two allocations of this server, delivered internally.");
  w.sample("turnpike_hairpin_packets_total", s.hairpin_packets);
  w.family("turnpike_peer_denied_total", "counter", "Peer addresses refused by policy.");
  w.sample("turnpike_peer_denied_total", s.peer_denied);
  w.family("turnpike_requests_total", "counter", "STUN/TURN requests received.");
  w.sample("turnpike_requests_total", s.requests);
  w.family("turnpike_dropped_messages_total", "counter", "Malformed client messages dropped.");
  w.sample("turnpike_dropped_messages_total", s.dropped);
  w.family("turnpike_unauthenticated_dropped_total", "counter",
           "Unauthenticated requests (or failed authentications) dropped unanswered: over "
           "limits.unauthenticated_requests_per_second for their source.");
  w.sample("turnpike_unauthenticated_dropped_total", s.unauthenticated_dropped);
  w.family("turnpike_bandwidth_dropped_packets_total", "counter",
           "Relayed packets dropped: over limits.max_bandwidth_per_allocation.");
  w.sample("turnpike_bandwidth_dropped_packets_total", s.bandwidth_dropped_packets);
  w.family("turnpike_bandwidth_dropped_bytes_total", "counter",
           "Payload bytes of the packets dropped over limits.max_bandwidth_per_allocation.");
  w.sample("turnpike_bandwidth_dropped_bytes_total", s.bandwidth_dropped_bytes);
  w.family("turnpike_own_listener_denied_total", "counter",
           "Packets and channel binds refused because the peer is one of our listeners.");
  w.sample("turnpike_own_listener_denied_total", s.own_listener_denied);
  w.family("turnpike_draining", "gauge",
           "1 while shutting down gracefully (new allocations get 508).");
  w.sample("turnpike_draining", total.draining);
  w.family("turnpike_draining_refused_total", "counter",
           "Allocate requests refused (508) during a graceful shutdown.");
  w.sample("turnpike_draining_refused_total", s.draining_refused);
  w.family("turnpike_auth_failures_total", "counter", "Authentication failures by reason.");
  for (size_t r = 0; r < turn::Stats::kAuthFailures; ++r) {
    w.sample("turnpike_auth_failures_total", s.auth_failures[r],
             {{"reason", turn::to_string(static_cast<turn::AuthFailure>(r))}});
  }

  w.family("turnpike_connections_accepted_total", "counter", "TCP/TLS connections accepted.");
  for (const Transport t : {Transport::kTcp, Transport::kTls}) {
    w.sample("turnpike_connections_accepted_total",
             counters.connections_accepted[static_cast<size_t>(t)],
             {{"transport", transport_name(t)}});
  }
  w.family("turnpike_connections_rejected_total", "counter",
           "TCP/TLS connections closed at accept by limits.max_connections (reason total) or "
           "limits.max_connections_per_ip (reason per_ip).");
  w.sample("turnpike_connections_rejected_total", counters.connections_rejected[0],
           {{"reason", "total"}});
  w.sample("turnpike_connections_rejected_total", counters.connections_rejected[1],
           {{"reason", "per_ip"}});
  w.family("turnpike_connections", "gauge", "TCP/TLS connections open now.");
  w.sample("turnpike_connections", total.connections);
  w.family("turnpike_tls_handshakes_total", "counter", "TLS handshakes completed.");
  w.sample("turnpike_tls_handshakes_total", counters.tls_handshakes);
  w.family("turnpike_tls_failures_total", "counter", "TLS handshake or record failures.");
  w.sample("turnpike_tls_failures_total", counters.tls_failures);
  w.family("turnpike_stream_timeouts_total", "counter",
           "Connections closed for sending nothing useful within the handshake timeout.");
  w.sample("turnpike_stream_timeouts_total", counters.stream_timeouts);
  w.family("turnpike_stream_garbage_total", "counter", "Connections closed for not speaking STUN.");
  w.sample("turnpike_stream_garbage_total", counters.stream_garbage);
  w.family("turnpike_stream_dropped_total", "counter",
           "Messages dropped because a client's send queue was full.");
  w.sample("turnpike_stream_dropped_total", counters.stream_drops);
  w.family("turnpike_udp_send_errors_total", "counter", "UDP sends that failed (buffer full).");
  w.sample("turnpike_udp_send_errors_total", counters.udp_send_errors);
  w.family("turnpike_udp_datagrams_sent_total", "counter",
           "UDP datagrams handed to the kernel (to clients and to peers).");
  w.sample("turnpike_udp_datagrams_sent_total", counters.udp_datagrams_sent);
  w.family("turnpike_udp_send_syscalls_total", "counter",
           "sendmmsg/sendmsg calls that carried them (batching: datagrams per call).");
  w.sample("turnpike_udp_send_syscalls_total", counters.udp_send_syscalls);
  w.family("turnpike_udp_gso_messages_total", "counter",
           "Messages the kernel segmented (UDP GSO): several same-size datagrams to one address.");
  w.sample("turnpike_udp_gso_messages_total", counters.udp_gso_messages);
  return w.text();
}

}  // namespace turnpike::net
