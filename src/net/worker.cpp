#include "turnpike/net/worker.h"

#include <algorithm>
#include <stdexcept>

#include "turnpike/net/loop_clock.h"
#include "turnpike/net/metrics.h"
#include "turnpike/turn/metrics.h"

namespace turnpike::net {

namespace {

constexpr uint64_t kTickMs = 500;

// The addresses clients reach our listeners at, with each listener's port: a wildcard listener is
// reached at every local address of its family, and any listener may be reached at the relay and
// advertised (public, 1:1 NAT) addresses. turn::Server never relays to these (RFC 8656 §21.1.7).
std::vector<SocketAddress> own_listeners(const WorkerSetup& setup,
                                         const std::vector<IpAddress>& local) {
  const turn::ServerConfig& config = setup.server;
  std::vector<SocketAddress> out = config.own_listeners;
  const auto add = [&out](const IpAddress& ip, uint16_t port) {
    const SocketAddress address{ip, port};
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  };
  for (const config::Listener& l : setup.listeners) {
    const bool v4 = l.address.family() == Family::kIPv4;
    if (l.address.ip.is_unspecified()) {
      for (const IpAddress& ip : local) {
        if ((ip.family == Family::kIPv4) == v4) add(ip, l.address.port);
      }
    } else {
      add(l.address.ip, l.address.port);
    }
    for (const auto& ip :
         {config.relay_ipv4, config.advertised_ipv4, config.relay_ipv6, config.advertised_ipv6}) {
      if (ip && (ip->family == Family::kIPv4) == v4) add(*ip, l.address.port);
    }
  }
  return out;
}

SharedRelayPorts* own_ports_if_needed(const WorkerSetup& setup) {
  if (setup.ports != nullptr) return nullptr;
  return new SharedRelayPorts(setup.relay_port_min, setup.relay_port_max);
}

SharedConnectionLimits* own_limits_if_needed(const WorkerSetup& setup) {
  if (setup.connection_limits != nullptr) return nullptr;
  return new SharedConnectionLimits(setup.max_connections, setup.max_connections_per_ip);
}

SharedAllocationQuota* own_quota_if_needed(const WorkerSetup& setup) {
  if (setup.quota != nullptr) return nullptr;
  return new SharedAllocationQuota(turn::quota_limits(setup.server));
}

}  // namespace

std::vector<IpAddress> interface_addresses() {
  std::vector<IpAddress> out;
  uv_interface_address_t* interfaces = nullptr;
  int count = 0;
  if (uv_interface_addresses(&interfaces, &count) != 0) return out;
  for (int i = 0; i < count; ++i) {
    const auto a = SocketAddress::from_sockaddr(
        reinterpret_cast<const sockaddr*>(&interfaces[i].address.address4));
    if (a) out.push_back(a->ip);
  }
  uv_free_interface_addresses(interfaces, count);
  return out;
}

Worker::Worker(uv_loop_t* loop, WorkerSetup setup, const auth::CredentialStore& credentials,
               const auth::NonceIssuer& nonces, const policy::PeerFilter& peer_filter)
    : loop_(loop),
      setup_(std::move(setup)),
      own_ports_(own_ports_if_needed(setup_)),
      ports_(setup_.ports != nullptr ? *setup_.ports : *own_ports_),
      own_connection_limits_(own_limits_if_needed(setup_)),
      connection_limits_(setup_.connection_limits != nullptr ? *setup_.connection_limits
                                                             : *own_connection_limits_),
      own_quota_(own_quota_if_needed(setup_)),
      quota_(setup_.quota != nullptr ? *setup_.quota : *own_quota_),
      log_(loop),
      relays_(loop, io_, ports_, setup_.relay_ipv4, setup_.relay_ipv6),
      server_(setup_.server, turn::Dependencies{credentials, nonces, peer_filter, relays_, ports_,
                                                quota_, *this, log_, ports_}),
      connections_(loop, server_, io_, connection_limits_, log_, counters_) {
  relays_.attach(server_);
  // The idle timers of TCP/TLS connections follow the allocations.
  log_.forward_allocations_to(&connections_);
  set_local_addresses(interface_addresses());
  if (setup_.tls != nullptr) SSL_CTX_up_ref(setup_.tls);  // the worker's own reference
}

Worker::~Worker() {
  log_.forward_allocations_to(nullptr);  // connections_ goes first
  if (setup_.tls != nullptr) SSL_CTX_free(setup_.tls);
}

void Worker::set_tls(SSL_CTX* tls) noexcept {
  if (tls != nullptr) SSL_CTX_up_ref(tls);
  if (setup_.tls != nullptr) SSL_CTX_free(setup_.tls);
  setup_.tls = tls;
  for (auto& l : stream_listeners_) {
    l->set_options(tls, setup_.handshake_timeout_ms, setup_.stream_idle_timeout_ms);
  }
}

void Worker::set_local_addresses(const std::vector<IpAddress>& local) {
  server_.set_own_addresses(local, own_listeners(setup_, local));
}

void Worker::start() {
  for (const config::Listener& l : setup_.listeners) {
    if (l.transport == Transport::kUdp) {
      auto listener = std::make_unique<UdpListener>(loop_, io_, server_, l.address);
      if (const int error = listener->open(setup_.shared_listeners); error != 0) {
        throw std::runtime_error("cannot listen on udp " + l.address.to_string() + ": " +
                                 uv_strerror(error));
      }
      udp_listeners_.push_back(std::move(listener));
      continue;
    }
    if (l.transport == Transport::kTls && setup_.tls == nullptr) {
      throw std::runtime_error("listener " + std::string(transport_name(l.transport)) + " " +
                               l.address.to_string() +
                               ": needs tls.certificate and tls.private_key");
    }
    auto listener = std::make_unique<StreamListener>(connections_, l, setup_.http, this);
    listener->set_options(setup_.tls, setup_.handshake_timeout_ms, setup_.stream_idle_timeout_ms);
    stream_listeners_.push_back(std::move(listener));  // closed by stop() whatever happens next
    stream_listeners_.back()->open(loop_, setup_.shared_listeners);
  }
  tasks_.start(loop_);
  timer_.init(&uv_timer_init, loop_, this);
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { static_cast<Worker*>(t->data)->on_tick(); }, kTickMs,
      kTickMs);
  io_.start(loop_, connections_);
}

void Worker::drain() {
  if (server_.draining()) return;
  server_.set_draining(true);
  for (auto& l : stream_listeners_) l->close();
  stream_listeners_.clear();
  if (setup_.metrics != nullptr) setup_.metrics->publish(setup_.index, snapshot());
}

void Worker::stop() {
  for (auto& l : udp_listeners_) l->close();
  udp_listeners_.clear();
  for (auto& l : stream_listeners_) l->close();
  stream_listeners_.clear();
  connections_.close_all();
  relays_.close_all();
  tasks_.stop();
  timer_.close();
  io_.stop();
}

std::vector<std::string> Worker::listener_names() const {
  std::vector<std::string> names;
  for (const auto& l : udp_listeners_) names.push_back("udp " + l->local().to_string());
  for (const auto& l : stream_listeners_) names.push_back(l->name());
  return names;
}

void Worker::on_tick() {
  server_.advance(loop_now(loop_));
  if (setup_.metrics != nullptr) setup_.metrics->publish(setup_.index, snapshot());
}

// ---- turn::Outbox ----

void Worker::to_client(const FiveTuple& client, ByteView bytes) {
  if (client.transport != Transport::kUdp) {
    connections_.send(client.connection_id, bytes);
    return;
  }
  for (const auto& l : udp_listeners_) {
    if (l->local() == client.server) {
      l->send(client.client, bytes);
      return;
    }
  }
}

// ---- /metrics ----

// The server's counters, the transport's, and the gauges read now.
metrics::Counters Worker::snapshot() const {
  metrics::Counters s = server_.counters();
  s.merge(counters_);
  const UdpSendStats& sends = io_.send_stats();
  s.set(metric::kUdpSendErrors, sends.errors);
  s.set(metric::kUdpDatagramsSent, sends.datagrams);
  s.set(metric::kUdpSendSyscalls, sends.syscalls);
  s.set(metric::kUdpGsoMessages, sends.gso_messages);
  s.set(metric::kWorkers, 1);
  s.set(turn::metric::kAllocations, server_.allocation_count());
  const auto [permissions, channels] = server_.permission_and_channel_count();
  s.set(turn::metric::kPermissions, permissions);
  s.set(turn::metric::kChannels, channels);
  s.set(metric::kRelayPortsFree, ports_.free_count());
  s.set(metric::kConnections, connections_.size());
  s.set(metric::kDraining, server_.draining() ? 1 : 0);
  return s;
}

std::string Worker::render() const {
  // Other workers' figures are as of their last tick (at most 500 ms old); ours are current.
  if (setup_.metrics == nullptr) return metrics::render(snapshot());
  setup_.metrics->publish(setup_.index, snapshot());
  return setup_.metrics->render();
}

}  // namespace turnpike::net
