// One libuv loop with its turn::Server: the client listeners, the relay sockets and the expiry
// timer. It is the server's Outbox, RelayAllocator, ReservationRegistry and Observer; nothing here
// decides protocol.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "turnpike/auth/credential_store.h"
#include "turnpike/auth/nonce_issuer.h"
#include "turnpike/config/config.h"
#include "turnpike/http/credentials_endpoint.h"
#include "turnpike/net/connection_limits.h"
#include "turnpike/net/shared_relay_ports.h"
#include "turnpike/net/stream_connection.h"
#include "turnpike/net/udp_send_batch.h"
#include "turnpike/policy/peer_filter.h"
#include "turnpike/policy/rate_limiter.h"
#include "turnpike/turn/relay_port_pool.h"
#include "turnpike/turn/server.h"

namespace turnpike::net {

class MetricsBoard;

struct WorkerSetup {
  turn::ServerConfig server;
  http::ServiceHandler* http = nullptr;  // the credential service, shared by all workers
  SSL_CTX* tls = nullptr;                // required when a listener is "tls"
  uint64_t handshake_timeout_ms = 10'000;
  bool shared_listeners = false;      // several workers: listeners use SO_REUSEPORT
  size_t index = 0;                   // this worker's number, for the metrics board
  SharedRelayPorts* ports = nullptr;  // shared by all workers; the worker makes its own if null
  // TCP/TLS connection limits shared by all workers; the worker makes its own (from the two
  // numbers below) if null.
  SharedConnectionLimits* connection_limits = nullptr;
  uint32_t max_connections = 10000;
  uint32_t max_connections_per_ip = 64;
  MetricsBoard* metrics = nullptr;
  std::vector<config::Listener> listeners;
  IpAddress relay_ipv4;
  std::optional<IpAddress> relay_ipv6;
  uint16_t relay_port_min = 49152;
  uint16_t relay_port_max = 65535;
};

// Counters of one worker, copied out for /metrics (workers never share live counters).
struct WorkerCounters {
  uint64_t connections_accepted[3] = {};  // by Transport
  uint64_t tls_handshakes = 0;
  uint64_t tls_failures = 0;
  uint64_t stream_timeouts = 0;
  uint64_t stream_garbage = 0;
  uint64_t stream_drops = 0;  // data dropped because a client's write queue was full
  uint64_t udp_send_errors = 0;
  uint64_t udp_datagrams_sent = 0;  // UdpSendBatch: datagrams, system calls, GSO messages
  uint64_t udp_send_syscalls = 0;
  uint64_t udp_gso_messages = 0;
  // Connections accepted and closed at once (with a reset) because of limits.max_connections
  // ([0]) or limits.max_connections_per_ip ([1]).
  uint64_t connections_rejected[2] = {};
};

struct WorkerSnapshot {
  turn::Stats stats;
  WorkerCounters counters;
  uint64_t allocations = 0;
  uint64_t permissions = 0;
  uint64_t channels = 0;
  uint64_t relay_ports_free = 0;
  uint64_t connections = 0;
  uint64_t draining = 0;  // 1 while the worker refuses new allocations (SIGTERM grace period)
};

// Where the workers of one daemon publish their snapshots (each worker on its tick and before it
// renders), so /metrics served by any worker shows the whole server. Thread-safe.
class MetricsBoard {
 public:
  explicit MetricsBoard(size_t workers) : slots_(workers) {}
  void publish(size_t worker, const WorkerSnapshot& snapshot);
  [[nodiscard]] std::string render() const;
  // Allocations of all workers, as of their last publish (each publishes on its tick).
  [[nodiscard]] uint64_t allocations() const;

 private:
  mutable std::mutex mutex_;
  std::vector<WorkerSnapshot> slots_;
};

std::string render_metrics(const WorkerSnapshot& total, size_t workers);

struct UdpSocket;       // defined in worker.cpp
struct StreamListener;  // defined in worker.cpp

class Worker final : public turn::Outbox,
                     public turn::RelayAllocator,
                     public turn::ReservationRegistry,
                     public turn::Observer,
                     public http::MetricsSource {
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
  // Runs `task` on this worker's loop thread; callable from any thread (reload, shutdown).
  void post(std::function<void()> task);
  [[nodiscard]] WorkerSnapshot snapshot() const;
  [[nodiscard]] const turn::Server& server() const noexcept { return server_; }

  // turn::Outbox
  void to_client(const FiveTuple& client, ByteView bytes) override;
  void to_peer(turn::AllocationId relay, const SocketAddress& peer, ByteView bytes) override;
  // turn::RelayAllocator
  std::optional<SocketAddress> open(turn::AllocationId owner,
                                    const turn::RelayRequest& request) override;
  void close(turn::AllocationId owner) override;
  // turn::ReservationRegistry (over ports_, the registry shared by every worker)
  void hold(uint64_t token, const turn::Reservation& reservation) override;
  std::optional<turn::Reservation> take(uint64_t token) override;
  void release(uint64_t token, const turn::Reservation& reservation) override;
  // turn::Observer
  void on_allocation_created(const FiveTuple& client, const SocketAddress& relayed,
                             std::string_view username) override;
  void on_allocation_deleted(const FiveTuple& client, std::string_view reason) override;
  void on_auth_failure(const FiveTuple& client, turn::AuthFailure failure) override;
  void on_peer_denied(const FiveTuple& client, const SocketAddress& peer) override;

  // Called from libuv callbacks (worker.cpp).
  void on_listener_datagram(UdpSocket& socket, ByteView bytes, const sockaddr* from);
  void on_relay_datagram(UdpSocket& socket, uint8_t* payload, size_t length, const sockaddr* from);
  uv_buf_t receive_buffer(bool relay) noexcept;
  void on_connection(StreamListener& listener);
  // Connection limits: whether a just-accepted connection from `client` may stay (counted when it
  // may). `per_ip` is false on PROXY protocol listeners: the real source comes with the header.
  bool admit_connection(StreamConnection& connection, bool per_ip);
  // A PROXY header named the real source: the per-IP limit applies to it now.
  bool admit_proxied_source(StreamConnection& connection);

  // Stream connections (stream_connection.cpp).
  static constexpr size_t kTlsPlaintextSize = 16384;
  uv_buf_t stream_read_buffer() noexcept;
  uint8_t* tls_plaintext_buffer() noexcept { return tls_plaintext_.data(); }
  void on_stream_frame(StreamConnection& connection, ByteView frame);
  void on_stream_closed(StreamConnection& connection);
  void count_stream_garbage(StreamConnection& connection);
  void count_stream_timeout(StreamConnection& connection);
  void count_stream_drop(StreamConnection& connection);
  void count_tls_failure(StreamConnection& connection, const char* reason);
  void count_tls_handshake() noexcept { ++counters_.tls_handshakes; }

  // Prometheus text for /metrics (http::MetricsSource).
  [[nodiscard]] std::string render() const override;
  [[nodiscard]] Now current_time() const noexcept { return now(); }
  void on_socket_closed(UdpSocket& socket) noexcept;
  void on_tick();
  // Sends every queued UDP datagram. Called before the receive buffer is reused, at the end of
  // each received batch, before the loop polls (uv_prepare) and after it handled I/O (uv_check),
  // and before a UDP socket closes.
  void flush_sends();
  // A connection with coalesced output asks to be flushed with the UDP batch.
  void schedule_stream_flush(uint64_t connection_id) { stream_flushes_.push_back(connection_id); }

 private:
  [[nodiscard]] Now now() const noexcept;
  UdpSocket* bind_udp(const SocketAddress& address, bool shared, int& error);
  void start_stream_listener(const config::Listener& listener);
  void close_stream_listeners();
  bool log_allowed() noexcept;

  uv_loop_t* loop_;
  WorkerSetup setup_;
  WorkerCounters counters_;
  uv_async_t* async_ = nullptr;
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  turn::Server server_;
  std::unique_ptr<SharedRelayPorts> own_ports_;  // when no shared one was given
  SharedRelayPorts& ports_;
  std::unique_ptr<SharedConnectionLimits> own_connection_limits_;
  SharedConnectionLimits& connection_limits_;
  std::vector<UdpSocket*> listeners_;
  std::vector<StreamListener*> stream_listeners_;
  std::unordered_map<uint64_t, StreamConnection*> connections_;
  uint64_t next_connection_id_ = 1;

  std::vector<UdpSocket*> relays_;  // indexed by AllocationId::index
  uv_timer_t* timer_ = nullptr;
  uv_prepare_t* flush_prepare_ = nullptr;
  uv_check_t* flush_check_ = nullptr;
  std::vector<uint8_t> receive_buffer_;
  UdpSendBatch send_batch_;
  std::vector<uint64_t> stream_flushes_;  // connection ids (a closed one is simply not found)
  std::vector<uint64_t> flushing_;        // the list being flushed (flushes may schedule more)
  std::vector<uint8_t> stream_buffer_;
  std::vector<uint8_t> tls_plaintext_;
  policy::TokenBucket log_budget_;
  size_t open_handles_ = 0;
};

}  // namespace turnpike::net
