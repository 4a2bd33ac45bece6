// /metrics for one worker: the server's counters, the transport's counters, and gauges read at
// scrape time. No label ever names a user, an address or an allocation.
#include "turnpike/metrics/prometheus.h"
#include "turnpike/net/worker.h"

namespace turnpike::net {

std::string Worker::render() const {
  metrics::PrometheusWriter w;
  const turn::Stats& s = server_.stats();
  const auto [permissions, channels] = server_.permission_and_channel_count();
  w.family("turnpike_allocations", "gauge", "TURN allocations active now.");
  w.sample("turnpike_allocations", static_cast<uint64_t>(server_.allocation_count()));
  w.family("turnpike_allocations_created_total", "counter", "TURN allocations created.");
  w.sample("turnpike_allocations_created_total", s.allocations_created);
  w.family("turnpike_allocations_deleted_total", "counter",
           "TURN allocations deleted (expired, refreshed to 0, or connection closed).");
  w.sample("turnpike_allocations_deleted_total", s.allocations_deleted);
  w.family("turnpike_permissions", "gauge", "Permissions installed now.");
  w.sample("turnpike_permissions", static_cast<uint64_t>(permissions));
  w.family("turnpike_channels", "gauge", "Channel bindings installed now.");
  w.sample("turnpike_channels", static_cast<uint64_t>(channels));
  w.family("turnpike_relay_ports_free", "gauge", "Relay ports free in the configured range.");
  w.sample("turnpike_relay_ports_free", static_cast<uint64_t>(ports_.free_count()));

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
  w.family("turnpike_auth_failures_total", "counter", "Authentication failures by reason.");
  for (size_t r = 0; r < turn::Stats::kAuthFailures; ++r) {
    w.sample("turnpike_auth_failures_total", s.auth_failures[r],
             {{"reason", turn::to_string(static_cast<turn::AuthFailure>(r))}});
  }

  w.family("turnpike_connections_accepted_total", "counter", "TCP/TLS connections accepted.");
  for (const Transport t : {Transport::kTcp, Transport::kTls}) {
    w.sample("turnpike_connections_accepted_total",
             counters_.connections_accepted[static_cast<size_t>(t)],
             {{"transport", transport_name(t)}});
  }
  w.family("turnpike_connections", "gauge", "TCP/TLS connections open now.");
  w.sample("turnpike_connections", static_cast<uint64_t>(connections_.size()));
  w.family("turnpike_tls_handshakes_total", "counter", "TLS handshakes completed.");
  w.sample("turnpike_tls_handshakes_total", counters_.tls_handshakes);
  w.family("turnpike_tls_failures_total", "counter", "TLS handshake or record failures.");
  w.sample("turnpike_tls_failures_total", counters_.tls_failures);
  w.family("turnpike_stream_timeouts_total", "counter",
           "Connections closed for sending nothing useful within the handshake timeout.");
  w.sample("turnpike_stream_timeouts_total", counters_.stream_timeouts);
  w.family("turnpike_stream_garbage_total", "counter", "Connections closed for not speaking STUN.");
  w.sample("turnpike_stream_garbage_total", counters_.stream_garbage);
  w.family("turnpike_stream_dropped_total", "counter",
           "Messages dropped because a client's send queue was full.");
  w.sample("turnpike_stream_dropped_total", counters_.stream_drops);
  w.family("turnpike_udp_send_errors_total", "counter", "UDP sends that failed (buffer full).");
  w.sample("turnpike_udp_send_errors_total", counters_.udp_send_errors);
  return w.text();
}

}  // namespace turnpike::net
