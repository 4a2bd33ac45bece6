// Which peers an allocation may reach (RFC 8656 §9.1 / §10.2 / §12.2: the server MAY restrict
// them, 403; §21.1.7: never our own listeners), and the mapping between the local and advertised
// forms of our own relayed addresses (hairpin between two of our clients, behind 1:1 NAT).
#include <algorithm>

#include "request.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::turn {

bool Server::peer_allowed(const Allocation& allocation, const SocketAddress& peer) {
  // One of our own relayed addresses is always allowed (two clients of this server); everything
  // else goes through the one policy function. Callers that know the peer's port (ChannelBind)
  // also refuse our own listening addresses (is_own_listener).
  if (table_.find_by_relayed(peer) != nullptr || (is_own_relay(peer) && !is_own_listener(peer)) ||
      deps_.peer_filter.allows(peer.ip)) {
    return true;
  }
  counters_.add(metric::kPeerDenied);
  deps_.observer.on_peer_denied(allocation.client, peer);
  return false;
}

bool Server::is_own_listener(const SocketAddress& address) const noexcept {
  if (config_.allow_own_listeners || !own_listener_ports_.test(address.port)) return false;
  const SocketAddress canonical{policy::PeerFilter::canonical(address.ip), address.port};
  return std::ranges::find(config_.own_listeners, canonical) != config_.own_listeners.end();
}

bool Server::is_own_relay(const SocketAddress& address) const noexcept {
  if (address.port < config_.relay_port_min || address.port > config_.relay_port_max) return false;
  const bool v4 = address.family() == Family::kIPv4;
  const auto& local = v4 ? config_.relay_ipv4 : config_.relay_ipv6;
  const auto& advertised = v4 ? config_.advertised_ipv4 : config_.advertised_ipv6;
  return (local && address.ip == *local) || (advertised && address.ip == *advertised);
}

SocketAddress Server::local_form(const SocketAddress& relayed) const noexcept {
  const auto& local = relayed.family() == Family::kIPv4 ? config_.relay_ipv4 : config_.relay_ipv6;
  return local ? SocketAddress{*local, relayed.port} : relayed;
}

SocketAddress Server::public_form(const SocketAddress& source) const noexcept {
  const bool v4 = source.family() == Family::kIPv4;
  const auto& advertised = v4 ? config_.advertised_ipv4 : config_.advertised_ipv6;
  if (!advertised || !is_own_relay(source)) return source;
  return SocketAddress{*advertised, source.port};
}

}  // namespace turnpike::turn
