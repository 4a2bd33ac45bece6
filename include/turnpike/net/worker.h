// One libuv loop with its turn::Server, composed from the transport's owners:
//
//   UdpListener(s) ─┐                        ┌─ RelaySockets (relay sockets by allocation)
//   StreamListener ─┤─▶ turn::Server (pure) ─┤
//   StreamConnections┘        │              └─ UdpListener / StreamConnections (answers)
//                        EventLog (observer)
//   BatchedIo: receive buffer, send batch, flush points;  TaskQueue: work from other threads
//
// The worker is the server's Outbox (it routes to_client by transport and to_peer to the relay
// table) and the /metrics source; nothing here decides protocol.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "turnpike/auth/credential_store.h"
#include "turnpike/auth/nonce_issuer.h"
#include "turnpike/config/config.h"
#include "turnpike/http/credentials_endpoint.h"
#include "turnpike/net/batched_io.h"
#include "turnpike/net/connection_limits.h"
#include "turnpike/net/event_log.h"
#include "turnpike/net/metrics_board.h"
#include "turnpike/net/relay_sockets.h"
#include "turnpike/net/shared_allocation_quota.h"
#include "turnpike/net/shared_relay_ports.h"
#include "turnpike/net/stream_connections.h"
#include "turnpike/net/stream_listener.h"
#include "turnpike/net/task_queue.h"
#include "turnpike/net/udp_listener.h"
#include "turnpike/net/uv_handle.h"
#include "turnpike/policy/peer_filter.h"
#include "turnpike/turn/server.h"

namespace turnpike::net {

struct WorkerSetup {
  turn::ServerConfig server;
  http::ServiceHandler* http = nullptr;  // the credential service, shared by all workers
  SSL_CTX* tls = nullptr;                // required when a listener is "tls"
  uint64_t handshake_timeout_ms = 10'000;
  uint64_t stream_idle_timeout_ms = 30'000;  // TCP/TLS TURN without an allocation; 0 = never
  bool shared_listeners = false;             // several workers: listeners use SO_REUSEPORT
  size_t index = 0;                          // this worker's number, for the metrics board
  SharedRelayPorts* ports = nullptr;  // shared by all workers; the worker makes its own if null
  // TCP/TLS connection limits shared by all workers; the worker makes its own (from the two
  // numbers below) if null.
  SharedConnectionLimits* connection_limits = nullptr;
  uint32_t max_connections = 10000;
  uint32_t max_connections_per_ip = 64;
  // The allocation quotas shared by all workers; the worker makes its own (from server's
  // max_allocations* values) if null.
  SharedAllocationQuota* quota = nullptr;
  MetricsBoard* metrics = nullptr;
  std::vector<config::Listener> listeners;
  IpAddress relay_ipv4;
  std::optional<IpAddress> relay_ipv6;
  uint16_t relay_port_min = 49152;
  uint16_t relay_port_max = 65535;
};

// Every address of every local interface, IPv4 and IPv6 (uv_interface_addresses: a netlink
// round trip, so never on the packet path). Empty when they cannot be read.
std::vector<IpAddress> interface_addresses();

class Worker final : public turn::Outbox, public http::MetricsSource {
 public:
  Worker(uv_loop_t* loop, WorkerSetup setup, const auth::CredentialStore& credentials,
         const auth::NonceIssuer& nonces, const policy::PeerFilter& peer_filter);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds every listener and starts the timer. Throws std::runtime_error naming the listener that
  // could not be bound (start-up only).
  void start();
  // Closes every handle; the loop then runs out.
  void stop();
  // SIGTERM with a grace period: new allocations get 508 and the TCP/TLS listeners close (no new
  // connections; health checks fail, so load balancers move on). UDP listeners stay: existing
  // allocations refresh and relay through them. Publishes a snapshot at once.
  void drain();
  [[nodiscard]] std::vector<std::string> listener_names() const;
  // A reloaded certificate: new TLS connections use it, open ones keep theirs. The worker holds
  // its own reference (SSL_CTX_up_ref), so the caller may free its copy at once.
  void set_tls(SSL_CTX* tls) noexcept;
  // The host's addresses changed (or were read again): the server's own addresses and own
  // listening addresses follow (turn::Server::set_own_addresses). Read at construction; the daemon
  // posts fresh ones on SIGHUP and every minute.
  void set_local_addresses(const std::vector<IpAddress>& local);
  // Runs `task` on this worker's loop thread; callable from any thread (reload, shutdown).
  void post(std::function<void()> task) { tasks_.post(std::move(task)); }
  [[nodiscard]] metrics::Counters snapshot() const;
  [[nodiscard]] const turn::Server& server() const noexcept { return server_; }

  // turn::Outbox
  void to_client(const FiveTuple& client, ByteView bytes) override;
  void to_peer(turn::AllocationId relay, const SocketAddress& peer, ByteView bytes) override {
    relays_.to_peer(relay, peer, bytes);
  }

  // Prometheus text for /metrics (http::MetricsSource).
  [[nodiscard]] std::string render() const override;

 private:
  void on_tick();

  uv_loop_t* loop_;
  WorkerSetup setup_;
  metrics::Counters counters_;                   // the transport owners count here
  std::unique_ptr<SharedRelayPorts> own_ports_;  // when no shared one was given
  SharedRelayPorts& ports_;
  std::unique_ptr<SharedConnectionLimits> own_connection_limits_;
  SharedConnectionLimits& connection_limits_;
  std::unique_ptr<SharedAllocationQuota> own_quota_;
  SharedAllocationQuota& quota_;
  EventLog log_;
  BatchedIo io_;
  RelaySockets relays_;
  turn::Server server_;
  StreamConnections connections_;
  std::vector<std::unique_ptr<UdpListener>> udp_listeners_;
  std::vector<std::unique_ptr<StreamListener>> stream_listeners_;
  TaskQueue tasks_;
  UvHandle<uv_timer_t> timer_;
};

}  // namespace turnpike::net
