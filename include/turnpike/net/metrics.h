// The transport's metric families (counted by the owners in net/, summed over workers).
#pragma once

#include "turnpike/metrics/registry.h"

namespace turnpike::net::metric {

using metrics::declare;
using metrics::Kind;

inline const metrics::Family kWorkers =
    declare("turnpike_workers", Kind::kGauge, "Worker threads (event loops).");
inline const metrics::Family kRelayPortsFree = declare("turnpike_relay_ports_free", Kind::kShared,
                                                       "Relay ports free in the configured range.");
inline const metrics::Family kDraining =
    declare("turnpike_draining", Kind::kGaugeMax,
            "1 while shutting down gracefully (new allocations get 508).");

// Series indexed by Transport minus one (TCP, TLS).
inline const metrics::Family kConnectionsAccepted =
    declare("turnpike_connections_accepted_total", Kind::kCounter, "TCP/TLS connections accepted.",
            {R"(transport="tcp")", R"(transport="tls")"});
enum ConnectionRejected : size_t { kTotalLimit, kPerIpLimit };
inline const metrics::Family kConnectionsRejected =
    declare("turnpike_connections_rejected_total", Kind::kCounter,
            "TCP/TLS connections closed at accept by limits.max_connections (reason total) or "
            "limits.max_connections_per_ip (reason per_ip).",
            {R"(reason="total")", R"(reason="per_ip")"});
inline const metrics::Family kConnections =
    declare("turnpike_connections", Kind::kGauge, "TCP/TLS connections open now.");
inline const metrics::Family kTlsHandshakes =
    declare("turnpike_tls_handshakes_total", Kind::kCounter, "TLS handshakes completed.");
inline const metrics::Family kTlsFailures =
    declare("turnpike_tls_failures_total", Kind::kCounter, "TLS handshake or record failures.");
inline const metrics::Family kStreamTimeouts =
    declare("turnpike_stream_timeouts_total", Kind::kCounter,
            "Connections closed for sending nothing useful within the handshake timeout.");
inline const metrics::Family kStreamGarbage = declare(
    "turnpike_stream_garbage_total", Kind::kCounter, "Connections closed for not speaking STUN.");
inline const metrics::Family kStreamDropped =
    declare("turnpike_stream_dropped_total", Kind::kCounter,
            "Messages dropped because a client's send queue was full.");
inline const metrics::Family kStreamIdleClosed =
    declare("turnpike_stream_idle_closed_total", Kind::kCounter,
            "TCP/TLS TURN connections closed for holding no allocation for "
            "limits.stream_idle_timeout.");
inline const metrics::Family kProxyUntrusted =
    declare("turnpike_proxy_untrusted_total", Kind::kCounter,
            "Connections to a PROXY-protocol listener from an address outside its "
            "proxy_protocol_from, reset at accept.");
inline const metrics::Family kHttpQueueFull =
    declare("turnpike_http_queue_full_total", Kind::kCounter,
            "HTTP connections closed because the worker's HTTP write budget was spent.");

inline const metrics::Family kUdpSendErrors = declare(
    "turnpike_udp_send_errors_total", Kind::kCounter, "UDP sends that failed (buffer full).");
inline const metrics::Family kUdpDatagramsSent =
    declare("turnpike_udp_datagrams_sent_total", Kind::kCounter,
            "UDP datagrams handed to the kernel (to clients and to peers).");
inline const metrics::Family kUdpSendSyscalls =
    declare("turnpike_udp_send_syscalls_total", Kind::kCounter,
            "sendmmsg/sendmsg calls that carried them (batching: datagrams per call).");
inline const metrics::Family kUdpGsoMessages =
    declare("turnpike_udp_gso_messages_total", Kind::kCounter,
            "Messages the kernel segmented (UDP GSO): several same-size datagrams to one address.");

}  // namespace turnpike::net::metric
