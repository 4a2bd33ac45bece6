// The TURN server's metric families: counted by turn::Server in its own metrics::Counters block
// (plain integers, single-threaded), gauges set by the transport when it publishes. Never labelled
// by user or address: ephemeral REST usernames would make series grow without bound.
#pragma once

#include <string>
#include <vector>
#include "turnpike/auth/auth_failure.h"

#include "turnpike/metrics/registry.h"

namespace turnpike::turn::metric {

using metrics::declare;
using metrics::Kind;

inline const metrics::Family kAllocations =
    declare("turnpike_allocations", Kind::kGauge, "TURN allocations active now.");
inline const metrics::Family kAllocationsCreated =
    declare("turnpike_allocations_created_total", Kind::kCounter, "TURN allocations created.");
inline const metrics::Family kAllocationsDeleted =
    declare("turnpike_allocations_deleted_total", Kind::kCounter,
            "TURN allocations deleted (expired, refreshed to 0, or connection closed).");
inline const metrics::Family kPermissions =
    declare("turnpike_permissions", Kind::kGauge, "Permissions installed now.");
inline const metrics::Family kChannels =
    declare("turnpike_channels", Kind::kGauge, "Channel bindings installed now.");

// Series: direction (kToPeer, kToClient) + the client's Transport (udp, tcp, tls).
enum Direction : size_t { kToPeer = 0, kToClient = 3 };
inline std::vector<std::string> relayed_series() {
  return {R"(direction="to_peer",transport="udp")",   R"(direction="to_peer",transport="tcp")",
          R"(direction="to_peer",transport="tls")",   R"(direction="to_client",transport="udp")",
          R"(direction="to_client",transport="tcp")", R"(direction="to_client",transport="tls")"};
}
inline const metrics::Family kRelayedPackets =
    declare("turnpike_relayed_packets_total", Kind::kCounter,
            "Packets relayed, by direction and the client's transport.", relayed_series());
inline const metrics::Family kRelayedBytes =
    declare("turnpike_relayed_bytes_total", Kind::kCounter,
            "Payload bytes relayed, by direction and the client's transport.", relayed_series());

inline const metrics::Family kHairpinPackets =
    declare("turnpike_hairpin_packets_total", Kind::kCounter,
            "Packets between two allocations of this server, delivered internally.");
inline const metrics::Family kPeerDenied =
    declare("turnpike_peer_denied_total", Kind::kCounter, "Peer addresses refused by policy.");
inline const metrics::Family kRequests =
    declare("turnpike_requests_total", Kind::kCounter, "STUN/TURN requests received.");
inline const metrics::Family kDroppedMessages = declare(
    "turnpike_dropped_messages_total", Kind::kCounter, "Malformed client messages dropped.");
inline const metrics::Family kUnauthenticatedDropped =
    declare("turnpike_unauthenticated_dropped_total", Kind::kCounter,
            "Unauthenticated requests (or failed authentications) dropped unanswered: over "
            "limits.unauthenticated_requests_per_second for their source.");
inline const metrics::Family kBandwidthDroppedPackets =
    declare("turnpike_bandwidth_dropped_packets_total", Kind::kCounter,
            "Relayed packets dropped: over limits.max_bandwidth_per_allocation.");
inline const metrics::Family kBandwidthDroppedBytes =
    declare("turnpike_bandwidth_dropped_bytes_total", Kind::kCounter,
            "Payload bytes of the packets dropped over limits.max_bandwidth_per_allocation.");
inline const metrics::Family kOwnListenerDenied =
    declare("turnpike_own_listener_denied_total", Kind::kCounter,
            "Packets and channel binds refused because the peer is one of our listeners.");
inline const metrics::Family kOwnHostDenied =
    declare("turnpike_own_host_denied_total", Kind::kCounter,
            "Packets and channel binds refused, and peer datagrams dropped, because the peer is "
            "another port of this host's own addresses (not a listener, not a live allocation).");
inline const metrics::Family kDrainingRefused =
    declare("turnpike_draining_refused_total", Kind::kCounter,
            "Allocate requests refused (508) during a graceful shutdown.");
// Series indexed by auth::AuthFailure.
inline const metrics::Family kAuthFailures =
    declare("turnpike_auth_failures_total", Kind::kCounter, "Authentication failures by reason.",
            metrics::one_label("reason", {auth::to_string(auth::AuthFailure::kMissingAttributes),
                                          auth::to_string(auth::AuthFailure::kStaleNonce),
                                          auth::to_string(auth::AuthFailure::kInvalidNonce),
                                          auth::to_string(auth::AuthFailure::kUnknownUser),
                                          auth::to_string(auth::AuthFailure::kExpiredUser),
                                          auth::to_string(auth::AuthFailure::kBadIntegrity),
                                          auth::to_string(auth::AuthFailure::kDowngrade),
                                          auth::to_string(auth::AuthFailure::kOversized)}));
static_assert(auth::kAuthFailureCount == 8, "kAuthFailures lists every AuthFailure");

}  // namespace turnpike::turn::metric
