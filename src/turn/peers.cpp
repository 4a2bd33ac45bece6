// Which peers an allocation may reach (RFC 8656 §9.1 / §10.2 / §12.2: the server MAY restrict
// them, 403; §21.1.7: never our own listeners, nor any other service of our own host), and the
// mapping between the local and advertised forms of our own relayed addresses (hairpin between two
// of our clients, behind 1:1 NAT).
#include <algorithm>
#include <array>

#include "request.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::turn {

namespace {

bool ip_less(const IpAddress& a, const IpAddress& b) noexcept {
  if (a.family != b.family) return a.family < b.family;
  return a.bytes < b.bytes;
}

// 127.0.0.0/8 and ::1: the built-in deny list refuses them; an operator who allows them in
// peers.allow opens the host's loopback on purpose (tests do), so they are not "own" addresses.
bool is_loopback(const IpAddress& ip) noexcept {
  if (ip.family == Family::kIPv4) return ip.bytes[0] == 127;
  return ip == IpAddress{Family::kIPv6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
}

}  // namespace

void Server::set_own_addresses(std::span<const IpAddress> hosts,
                               std::vector<SocketAddress> listeners) {
  std::vector<IpAddress> own;
  const auto add = [&own](const IpAddress& ip) {
    const IpAddress c = policy::PeerFilter::canonical(ip);
    if (!c.is_unspecified() && !is_loopback(c)) own.push_back(c);
  };
  for (const IpAddress& ip : hosts) add(ip);
  for (const auto& ip :
       {config_.relay_ipv4, config_.advertised_ipv4, config_.relay_ipv6, config_.advertised_ipv6}) {
    if (ip) add(*ip);
  }
  std::ranges::sort(own, ip_less);
  own.erase(std::unique(own.begin(), own.end()), own.end());
  own_hosts_ = std::move(own);
  config_.own_listeners = std::move(listeners);
  own_listener_ports_.reset();
  for (const SocketAddress& a : config_.own_listeners) own_listener_ports_.set(a.port);
  ++own_generation_;
}

bool Server::peer_allowed(const Allocation& allocation, const SocketAddress& peer) {
  // One of our own relayed addresses is always allowed (two clients of this server); everything
  // else goes through the one policy function. A permission is per IP: the ports of our own host
  // and our listeners are refused per packet and per channel (peer_reachable), not here.
  if (table_.find_by_relayed(peer) != nullptr || (is_own_relay(peer) && !is_own_listener(peer)) ||
      deps_.peer_filter.allows(peer.ip)) {
    return true;
  }
  counters_.add(metric::kPeerDenied);
  deps_.observer.on_peer_denied(allocation.client, peer);
  return false;
}

PeerVerdict Server::judge(const SocketAddress& peer) const noexcept {
  PeerVerdict v;
  v.policy_generation = deps_.peer_filter.generation();
  v.own_generation = own_generation_;
  const bool listener = is_listener_address(peer);
  if (listener && !config_.allow_own_listeners) {
    v.kind = PeerVerdict::Kind::kOwnListener;
    return v;
  }
  v.own_relay = is_own_relay(peer);
  if (!listener && is_own_host(peer.ip)) {
    // peers.allow does not reopen it: only a live allocation's port (own_relay, asked on use).
    v.kind = PeerVerdict::Kind::kOwnHost;
  } else {
    v.kind = deps_.peer_filter.allows(peer.ip) ? PeerVerdict::Kind::kAllowed
                                               : PeerVerdict::Kind::kDenied;
  }
  return v;
}

bool Server::peer_reachable(const Allocation& from, const SocketAddress& peer,
                            PeerVerdict& verdict) {
  if (verdict.policy_generation != deps_.peer_filter.generation() ||
      verdict.own_generation != own_generation_) {
    verdict = judge(peer);
  }
  if (verdict.kind == PeerVerdict::Kind::kOwnListener) {
    // RFC 8656 §21.1.7: relaying to our own listening ports would let a client talk to the server
    // as the server (loops, requests from a spoofed trusted source). Never, whatever the policy.
    counters_.add(metric::kOwnListenerDenied);
  } else if (verdict.own_relay && is_live_relay(peer)) {
    return true;
  } else if (verdict.kind == PeerVerdict::Kind::kAllowed) {
    return true;
  } else if (verdict.kind == PeerVerdict::Kind::kOwnHost) {
    // Another service of this host (a DNS cache on 0.0.0.0, a port of the relay range nobody
    // holds): never a peer, whatever peers.allow says.
    counters_.add(metric::kOwnHostDenied);
  }
  counters_.add(metric::kPeerDenied);
  deps_.observer.on_peer_denied(from.client, peer);
  return false;
}

bool Server::from_own_service(const SocketAddress& source) noexcept {
  // Our listeners only ever answer clients: a datagram from one means a client spoofed a relayed
  // address as its source (the loop of RFC 8656 §21.1.7).
  const bool listener = is_listener_address(source);
  if (listener && !config_.allow_own_listeners) return true;
  if (listener || !is_own_host(source.ip) || (is_own_relay(source) && is_live_relay(source))) {
    return false;
  }
  counters_.add(metric::kOwnHostDenied);
  return true;
}

bool Server::is_own_host(const IpAddress& ip) const noexcept {
  if (own_hosts_.empty()) return false;
  std::array<IpAddress, 3> forms{};
  const size_t n = policy::PeerFilter::ipv4_forms(ip, forms);
  const auto known = [this](const IpAddress& a) {
    return std::ranges::binary_search(own_hosts_, a, ip_less);
  };
  if (n == 0) return known(ip);
  return std::any_of(forms.begin(), forms.begin() + static_cast<std::ptrdiff_t>(n), known);
}

bool Server::is_live_relay(const SocketAddress& address) const noexcept {
  return is_own_relay(address) && deps_.relay_ports.relay_port_live(address.family(), address.port);
}

bool Server::is_listener_address(const SocketAddress& address) const noexcept {
  if (!own_listener_ports_.test(address.port)) return false;
  const SocketAddress canonical{policy::PeerFilter::canonical(address.ip), address.port};
  return std::ranges::find(config_.own_listeners, canonical) != config_.own_listeners.end();
}

bool Server::is_own_listener(const SocketAddress& address) const noexcept {
  return !config_.allow_own_listeners && is_listener_address(address);
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
