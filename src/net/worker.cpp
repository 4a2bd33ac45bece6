#include "turnpike/net/worker.h"

#include "turnpike/net/socket_options.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>

namespace turnpike::net {

// A UDP socket owned by the worker: a client listener, or an allocation's relay socket. Freed in
// its close callback (libuv's close protocol), never before.
struct UdpSocket {
  uv_udp_t handle{};
  Worker* worker = nullptr;
  SocketAddress local;
  bool relay = false;
  turn::AllocationId owner;
  int fd = -1;  // the descriptor UdpSendBatch writes to (uv_fileno once bound)
};

// A TCP or TLS listening socket.
struct StreamListener {
  uv_tcp_t handle{};
  Worker* worker = nullptr;
  SocketAddress local;
  Transport transport = Transport::kTcp;
  bool http_only = false;
  bool proxy_protocol = false;
  std::unique_ptr<http::ListenerView> http;  // null where HTTP is not served
};

namespace {

constexpr size_t kMaxDatagram = 65536;
// recvmmsg: libuv cuts the receive buffer into 64 KiB chunks, one datagram each, up to 20 per call.
constexpr size_t kDatagramsPerRead = 20;
constexpr int kListenBacklog = 511;
constexpr uint64_t kTickMs = 500;
// UDP listener socket buffers: ~4,000 full-size media packets of burst from all clients at once.
constexpr int kListenerBufferBytes = 4 * 1024 * 1024;
// Relay sockets: a peer's burst (a video keyframe, or a sender using UDP GSO) must not overflow the
// 208 KiB default while the worker is busy elsewhere (seen as RcvbufErrors under load). Memory is
// charged only while datagrams wait; beyond net.core.rmem_max it needs CAP_NET_ADMIN.
constexpr int kRelayBufferBytes = 1024 * 1024;

UdpSocket* socket_of(uv_handle_t* handle) { return static_cast<UdpSocket*>(handle->data); }

// The addresses clients reach our listeners at, with each listener's port: a wildcard listener is
// reached at every local address of its family, and any listener may be reached at the relay and
// advertised (public, 1:1 NAT) addresses. turn::Server never relays to these (RFC 8656 §21.1.7).
turn::ServerConfig with_own_listeners(const WorkerSetup& setup) {
  turn::ServerConfig config = setup.server;
  std::vector<IpAddress> local_v4;
  std::vector<IpAddress> local_v6;
  uv_interface_address_t* interfaces = nullptr;
  int count = 0;
  if (uv_interface_addresses(&interfaces, &count) == 0) {
    for (int i = 0; i < count; ++i) {
      const auto a = SocketAddress::from_sockaddr(
          reinterpret_cast<const sockaddr*>(&interfaces[i].address.address4));
      if (!a) continue;
      (a->family() == Family::kIPv4 ? local_v4 : local_v6).push_back(a->ip);
    }
    uv_free_interface_addresses(interfaces, count);
  }
  std::vector<SocketAddress>& out = config.own_listeners;
  const auto add = [&out](const IpAddress& ip, uint16_t port) {
    const SocketAddress address{ip, port};
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  };
  for (const config::Listener& l : setup.listeners) {
    const bool v4 = l.address.family() == Family::kIPv4;
    if (l.address.ip.is_unspecified()) {
      for (const IpAddress& ip : v4 ? local_v4 : local_v6) add(ip, l.address.port);
    } else {
      add(l.address.ip, l.address.port);
    }
    for (const auto& ip :
         {config.relay_ipv4, config.advertised_ipv4, config.relay_ipv6, config.advertised_ipv6}) {
      if (ip && (ip->family == Family::kIPv4) == v4) add(*ip, l.address.port);
    }
  }
  return config;
}

void on_alloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  UdpSocket* s = socket_of(handle);
  *buf = s->worker->receive_buffer(s->relay);
}

void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
             unsigned /*flags*/) {
  UdpSocket* s = socket_of(reinterpret_cast<uv_handle_t*>(handle));
  // nread == 0 with an address is an empty datagram (relayed like any other); without one it
  // means "nothing more to read", or (UV_UDP_MMSG_FREE) "that was the whole recvmmsg batch": what
  // the batch produced leaves now, in as few sendmmsg calls as it takes. Errors: UDP carries on.
  if (from == nullptr) {
    s->worker->flush_sends();
    return;
  }
  if (nread < 0) return;
  if (s->relay) {
    s->worker->on_relay_datagram(*s, reinterpret_cast<uint8_t*>(buf->base),
                                 static_cast<size_t>(nread), from);
  } else {
    s->worker->on_listener_datagram(
        *s, {reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)}, from);
  }
}

void on_closed(uv_handle_t* handle) {
  UdpSocket* s = socket_of(handle);
  s->worker->on_socket_closed(*s);
  delete s;
}

void close_socket(UdpSocket* s) {
  auto* handle = reinterpret_cast<uv_handle_t*>(&s->handle);
  // Queued datagrams name the descriptor, which uv_close releases at once (and the kernel may
  // hand out again): they leave first.
  s->worker->flush_sends();
  if (!uv_is_closing(handle)) uv_close(handle, on_closed);
}

}  // namespace

Worker::Worker(uv_loop_t* loop, WorkerSetup setup, const auth::CredentialStore& credentials,
               const auth::NonceIssuer& nonces, const policy::PeerFilter& peer_filter)
    : loop_(loop),
      setup_(std::move(setup)),
      server_(with_own_listeners(setup_),
              turn::Dependencies{credentials, nonces, peer_filter, *this, *this, *this, *this}),
      own_ports_(setup_.ports != nullptr ? nullptr
                                         : std::make_unique<SharedRelayPorts>(
                                               setup_.relay_port_min, setup_.relay_port_max,
                                               setup_.server.random_seed)),
      ports_(setup_.ports != nullptr ? *setup_.ports : *own_ports_),
      own_connection_limits_(setup_.connection_limits != nullptr
                                 ? nullptr
                                 : std::make_unique<SharedConnectionLimits>(
                                       setup_.max_connections, setup_.max_connections_per_ip)),
      connection_limits_(setup_.connection_limits != nullptr ? *setup_.connection_limits
                                                             : *own_connection_limits_),
      receive_buffer_(turn::PeerPacket::kHeadroom + kDatagramsPerRead * kMaxDatagram +
                      turn::PeerPacket::kTailroom),
      stream_buffer_(kMaxDatagram),
      tls_plaintext_(kTlsPlaintextSize),
      log_budget_(5.0, 20.0) {
  // Datagrams framed in the receive buffer leave from there (flushed before it is reused).
  send_batch_.set_borrowable(receive_buffer_.data(),
                             receive_buffer_.data() + receive_buffer_.size());
  if (setup_.tls != nullptr) SSL_CTX_up_ref(setup_.tls);  // the worker's own reference
}

Worker::~Worker() {
  if (setup_.tls != nullptr) SSL_CTX_free(setup_.tls);
}

void Worker::set_tls(SSL_CTX* tls) noexcept {
  if (tls != nullptr) SSL_CTX_up_ref(tls);
  if (setup_.tls != nullptr) SSL_CTX_free(setup_.tls);
  setup_.tls = tls;
}

void Worker::post(std::function<void()> task) {
  std::lock_guard lock(tasks_mutex_);
  if (async_ == nullptr) return;  // stopped (or not started): nothing runs any more
  tasks_.push_back(std::move(task));
  uv_async_send(async_);
}

Now Worker::now() const noexcept {
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  return Now{static_cast<Millis>(uv_now(loop_)),
             std::chrono::duration_cast<std::chrono::seconds>(wall).count()};
}

UdpSocket* Worker::bind_udp(const SocketAddress& address, bool shared, int& error) {
  auto* s = new UdpSocket;
  s->worker = this;
  s->local = address;
  s->handle.data = s;
  // recvmmsg: one system call drains up to 20 datagrams under load.
  error = uv_udp_init_ex(loop_, &s->handle, AF_UNSPEC | UV_UDP_RECVMMSG);
  if (error != 0) {
    delete s;
    return nullptr;
  }
  ++open_handles_;
  if (shared) {  // a listener that every worker binds (SO_REUSEPORT)
    const int fd = bind_reuseport_socket(address, SOCK_DGRAM);
    error = fd < 0 ? fd : uv_udp_open(&s->handle, fd);
  } else {
    sockaddr_storage storage{};
    address.to_sockaddr(storage);
    // IPv6 sockets are IPv6-only, so a separate IPv4 listener on the same port can coexist.
    const unsigned flags = address.family() == Family::kIPv6 ? UV_UDP_IPV6ONLY : 0;
    error = uv_udp_bind(&s->handle, reinterpret_cast<const sockaddr*>(&storage), flags);
  }
  if (error == 0) error = uv_udp_recv_start(&s->handle, on_alloc, on_recv);
  if (error == 0) {
    uv_os_fd_t fd = -1;
    error = uv_fileno(reinterpret_cast<uv_handle_t*>(&s->handle), &fd);
    s->fd = fd;
  }
  if (error != 0) {
    close_socket(s);
    return nullptr;
  }
  return s;
}

void Worker::start() {
  for (const config::Listener& l : setup_.listeners) {
    if (l.transport != Transport::kUdp) {
      start_stream_listener(l);
      continue;
    }
    int error = 0;
    UdpSocket* s = bind_udp(l.address, setup_.shared_listeners, error);
    if (s == nullptr) {
      throw std::runtime_error("cannot listen on udp " + l.address.to_string() + ": " +
                               uv_strerror(error));
    }
    enlarge_udp_buffers(s->fd, kListenerBufferBytes);
    listeners_.push_back(s);
  }
  async_ = new uv_async_t;
  uv_async_init(loop_, async_, [](uv_async_t* a) {
    auto* self = static_cast<Worker*>(a->data);
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(self->tasks_mutex_);
      tasks.swap(self->tasks_);
    }
    for (auto& task : tasks) task();
  });
  async_->data = this;
  ++open_handles_;
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  ++open_handles_;
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->on_tick(); }, kTickMs, kTickMs);
  // Datagrams queued by timers and posted tasks leave before the loop sleeps; those queued by
  // stream reads leave right after the I/O phase.
  flush_prepare_ = new uv_prepare_t;
  uv_prepare_init(loop_, flush_prepare_);
  flush_prepare_->data = this;
  ++open_handles_;
  uv_prepare_start(flush_prepare_,
                   [](uv_prepare_t* p) { static_cast<Worker*>(p->data)->flush_sends(); });
  flush_check_ = new uv_check_t;
  uv_check_init(loop_, flush_check_);
  flush_check_->data = this;
  ++open_handles_;
  uv_check_start(flush_check_, [](uv_check_t* c) { static_cast<Worker*>(c->data)->flush_sends(); });
}

void Worker::start_stream_listener(const config::Listener& l) {
  const std::string name = std::string(transport_name(l.transport)) + " " + l.address.to_string();
  if (l.transport == Transport::kTls && setup_.tls == nullptr) {
    throw std::runtime_error("listener " + name + ": needs tls.certificate and tls.private_key");
  }
  auto* listener = new StreamListener;
  listener->worker = this;
  listener->local = l.address;
  listener->transport = l.transport;
  listener->http_only = l.http_only;
  listener->proxy_protocol = l.proxy_protocol;
  if (setup_.http != nullptr && (l.http_only || l.transport == Transport::kTls)) {
    listener->http = std::make_unique<http::ListenerView>(*setup_.http, l.metrics, this);
  } else if (l.http_only) {
    delete listener;
    throw std::runtime_error("listener " + name + ": HTTP is not configured");
  }
  listener->handle.data = listener;
  uv_tcp_init(loop_, &listener->handle);
  ++open_handles_;
  stream_listeners_.push_back(listener);  // closed by stop() whatever happens next
  int error = 0;
  if (setup_.shared_listeners) {
    const int fd = bind_reuseport_socket(l.address, SOCK_STREAM);
    error = fd < 0 ? fd : uv_tcp_open(&listener->handle, fd);
  } else {
    sockaddr_storage storage{};
    l.address.to_sockaddr(storage);
    const unsigned flags = l.address.family() == Family::kIPv6 ? UV_TCP_IPV6ONLY : 0;
    error = uv_tcp_bind(&listener->handle, reinterpret_cast<const sockaddr*>(&storage), flags);
  }
  if (error == 0) {
    error = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->handle), kListenBacklog,
                      [](uv_stream_t* server, int status) {
                        auto* self = static_cast<StreamListener*>(server->data);
                        if (status == 0) self->worker->on_connection(*self);
                      });
  }
  if (error != 0) {
    std::string hint;
    if (error == UV_EACCES && l.address.port < 1024) {
      hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
    }
    throw std::runtime_error("cannot listen on " + name + ": " + uv_strerror(error) + hint);
  }
}

void Worker::on_connection(StreamListener& listener) {
  const uint64_t id = next_connection_id_++;
  StreamConnection::Options options;
  options.transport = listener.transport;
  options.tls = listener.transport == Transport::kTls ? setup_.tls : nullptr;
  options.http = listener.http.get();
  options.http_only = listener.http_only;
  options.proxy_protocol = listener.proxy_protocol;
  options.timeout_ms = setup_.handshake_timeout_ms;
  StreamConnection* c = StreamConnection::accept(
      *this, reinterpret_cast<uv_stream_t*>(&listener.handle), listener.local, options, id);
  if (c != nullptr) {
    connections_.emplace(id, c);
    ++counters_.connections_accepted[static_cast<size_t>(listener.transport)];
  }
}

bool Worker::admit_connection(StreamConnection& connection, bool per_ip) {
  StreamConnection::LimitSlot& slot = connection.limit_slot();
  std::optional<IpAddress> source;
  if (per_ip) source = connection.tuple().client.ip;
  const auto verdict = connection_limits_.try_add(source);
  if (verdict == SharedConnectionLimits::Verdict::kAccepted) {
    slot.counted = true;
    slot.source = source;
    return true;
  }
  const bool total = verdict == SharedConnectionLimits::Verdict::kTotalLimit;
  ++counters_.connections_rejected[total ? 0 : 1];
  if (spdlog::should_log(spdlog::level::info) && log_allowed()) {
    spdlog::info(
        "{} {}: connection refused: {}", transport_name(connection.tuple().transport),
        connection.tuple().client.to_string(),
        total ? "limits.max_connections reached" : "limits.max_connections_per_ip reached");
  }
  return false;
}

bool Worker::admit_proxied_source(StreamConnection& connection) {
  StreamConnection::LimitSlot& slot = connection.limit_slot();
  if (!slot.counted || slot.source) return true;
  const IpAddress& source = connection.tuple().client.ip;
  if (!connection_limits_.attach(source)) {
    ++counters_.connections_rejected[1];
    return false;
  }
  slot.source = source;
  return true;
}

uv_buf_t Worker::stream_read_buffer() noexcept {
  return uv_buf_init(reinterpret_cast<char*>(stream_buffer_.data()),
                     static_cast<unsigned>(stream_buffer_.size()));
}

void Worker::on_stream_frame(StreamConnection& connection, ByteView frame) {
  server_.on_client_message(connection.tuple(), frame, now());
}

void Worker::on_stream_closed(StreamConnection& connection) {
  StreamConnection::LimitSlot& slot = connection.limit_slot();
  if (slot.counted) {
    connection_limits_.remove(slot.source);
    slot.counted = false;
  }
  if (connections_.erase(connection.tuple().connection_id) > 0) {
    server_.on_client_closed(connection.tuple(), now());
  }
}

void Worker::count_stream_garbage(StreamConnection& connection) {
  ++counters_.stream_garbage;
  if (spdlog::should_log(spdlog::level::debug) && log_allowed()) {
    spdlog::debug("{} {}: not STUN, closing", transport_name(connection.tuple().transport),
                  connection.tuple().client.to_string());
  }
}

void Worker::count_stream_timeout(StreamConnection& connection) {
  ++counters_.stream_timeouts;
  if (spdlog::should_log(spdlog::level::debug) && log_allowed()) {
    spdlog::debug("{} {}: nothing received within the handshake timeout, closing",
                  transport_name(connection.tuple().transport),
                  connection.tuple().client.to_string());
  }
}

void Worker::count_stream_drop(StreamConnection&) { ++counters_.stream_drops; }

void Worker::count_tls_failure(StreamConnection& connection, const char* reason) {
  ++counters_.tls_failures;
  if (spdlog::should_log(spdlog::level::info) && log_allowed()) {
    spdlog::info("tls {}: handshake or record error: {}", connection.tuple().client.to_string(),
                 reason != nullptr ? reason : "unknown");
  }
}

void Worker::close_stream_listeners() {
  for (StreamListener* l : stream_listeners_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&l->handle), [](uv_handle_t* h) {
      auto* listener = static_cast<StreamListener*>(h->data);
      listener->worker->open_handles_--;
      delete listener;
    });
  }
  stream_listeners_.clear();
}

void Worker::drain() {
  if (server_.draining()) return;
  server_.set_draining(true);
  close_stream_listeners();
  if (setup_.metrics != nullptr) setup_.metrics->publish(setup_.index, snapshot());
}

void Worker::stop() {
  for (UdpSocket* s : listeners_) close_socket(s);
  listeners_.clear();
  close_stream_listeners();
  while (!connections_.empty()) connections_.begin()->second->close();  // erases itself
  for (UdpSocket*& s : relays_) {
    if (s != nullptr) close_socket(s);
    s = nullptr;
  }
  uv_async_t* async = nullptr;
  {
    std::lock_guard lock(tasks_mutex_);  // no post() can send to it once it starts closing
    std::swap(async, async_);
  }
  if (async != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(async), [](uv_handle_t* h) {
      static_cast<Worker*>(h->data)->open_handles_--;
      delete reinterpret_cast<uv_async_t*>(h);
    });
  }
  if (timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) {
      auto* t = reinterpret_cast<uv_timer_t*>(h);
      static_cast<Worker*>(t->data)->open_handles_--;
      delete t;
    });
    timer_ = nullptr;
  }
  flush_sends();
  if (flush_prepare_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(flush_prepare_), [](uv_handle_t* h) {
      static_cast<Worker*>(h->data)->open_handles_--;
      delete reinterpret_cast<uv_prepare_t*>(h);
    });
    flush_prepare_ = nullptr;
  }
  if (flush_check_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(flush_check_), [](uv_handle_t* h) {
      static_cast<Worker*>(h->data)->open_handles_--;
      delete reinterpret_cast<uv_check_t*>(h);
    });
    flush_check_ = nullptr;
  }
}

std::vector<std::string> Worker::listener_names() const {
  std::vector<std::string> names;
  for (const UdpSocket* s : listeners_) names.push_back("udp " + s->local.to_string());
  for (const StreamListener* l : stream_listeners_) {
    std::string kind = transport_name(l->transport);
    if (l->http_only) kind = l->transport == Transport::kTls ? "https" : "http";
    names.push_back(kind + " " + l->local.to_string());
  }
  return names;
}

void Worker::flush_sends() {
  send_batch_.flush();
  while (!stream_flushes_.empty()) {
    flushing_.swap(stream_flushes_);
    for (const uint64_t id : flushing_) {
      const auto it = connections_.find(id);
      if (it != connections_.end()) it->second->run_scheduled_flush();
    }
    flushing_.clear();
  }
}

void Worker::on_tick() {
  server_.advance(now());
  if (setup_.metrics != nullptr) setup_.metrics->publish(setup_.index, snapshot());
}

uv_buf_t Worker::receive_buffer(bool) noexcept {
  // Queued datagrams may point into this buffer: they leave before it is read into again.
  send_batch_.flush();
  // One buffer serves every socket: libuv hands each datagram of a batch to its callback, in
  // order, before it reads again. Reads start kHeadroom bytes in, so the server can frame a relayed
  // payload in place: for the first chunk in the headroom, for later ones in the (already handled)
  // end of the previous 64 KiB chunk, which no datagram fills.
  char* base = reinterpret_cast<char*>(receive_buffer_.data()) + turn::PeerPacket::kHeadroom;
  return uv_buf_init(base, static_cast<unsigned>(kDatagramsPerRead * kMaxDatagram));
}

void Worker::on_listener_datagram(UdpSocket& socket, ByteView bytes, const sockaddr* from) {
  const auto client = SocketAddress::from_sockaddr(from);
  if (!client) return;
  const FiveTuple tuple{*client, socket.local, Transport::kUdp, 0};
  server_.on_client_message(tuple, bytes, now());
}

void Worker::on_relay_datagram(UdpSocket& socket, uint8_t* payload, size_t length,
                               const sockaddr* from) {
  const auto peer = SocketAddress::from_sockaddr(from);
  if (!peer) return;
  server_.on_peer_datagram(socket.owner, *peer, turn::PeerPacket{payload, length}, now());
}

void Worker::on_socket_closed(UdpSocket& socket) noexcept {
  --open_handles_;
  if (socket.relay && socket.local.port != 0) ports_.release(socket.local.port);
}

// ---- turn::Outbox ----

void Worker::to_client(const FiveTuple& client, ByteView bytes) {
  if (client.transport != Transport::kUdp) {
    const auto it = connections_.find(client.connection_id);
    if (it != connections_.end()) it->second->send(bytes);
    return;
  }
  for (UdpSocket* s : listeners_) {
    if (s->local == client.server) {
      // Queued; non-blocking when it leaves: a full socket buffer drops the datagram, as the
      // network could.
      send_batch_.queue(s->fd, client.client, bytes);
      return;
    }
  }
}

void Worker::to_peer(turn::AllocationId relay, const SocketAddress& peer, ByteView bytes) {
  if (relay.index >= relays_.size()) return;
  UdpSocket* s = relays_[relay.index];
  if (s == nullptr || !(s->owner == relay)) return;
  send_batch_.queue(s->fd, peer, bytes);
}

// ---- turn::RelayAllocator ----

std::optional<SocketAddress> Worker::open(turn::AllocationId owner,
                                          const turn::RelayRequest& request) {
  std::optional<IpAddress> ip =
      request.family == Family::kIPv4 ? std::optional(setup_.relay_ipv4) : setup_.relay_ipv6;
  if (!ip) return std::nullopt;
  std::array<uint16_t, 16> busy{};
  size_t busy_count = 0;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::optional<uint16_t> port;
    if (request.port != 0) {
      if (ports_.acquire_specific(request.port)) port = request.port;
    } else if (request.reserve_next) {
      port = ports_.acquire_pair();
    } else {
      port = ports_.acquire(request.even_port);
    }
    if (!port) break;
    int error = 0;
    UdpSocket* s = bind_udp(SocketAddress{*ip, *port}, false, error);
    if (s == nullptr) {
      if (request.reserve_next) ports_.release(static_cast<uint16_t>(*port + 1));
      // EADDRINUSE: another process (or the kernel's ephemeral ports) holds it right now. Keep it
      // out of this search, then give it back: it is tried again another time, never lost.
      if (error == UV_EADDRINUSE && request.port == 0 && busy_count < busy.size()) {
        busy[busy_count++] = *port;
        continue;
      }
      ports_.release(*port);
      break;
    }
    for (size_t i = 0; i < busy_count; ++i) ports_.release(busy[i]);
    enlarge_udp_buffers(s->fd, kRelayBufferBytes);
    s->relay = true;
    s->owner = owner;
    if (relays_.size() <= owner.index) relays_.resize(owner.index + 1, nullptr);
    relays_[owner.index] = s;
    return s->local;
  }
  for (size_t i = 0; i < busy_count; ++i) ports_.release(busy[i]);
  return std::nullopt;
}

void Worker::close(turn::AllocationId owner) {
  if (owner.index >= relays_.size()) return;
  UdpSocket* s = relays_[owner.index];
  if (s == nullptr || !(s->owner == owner)) return;
  relays_[owner.index] = nullptr;
  uv_udp_recv_stop(&s->handle);
  close_socket(s);  // the port returns to the pool when the socket is really closed
}

// ---- turn::ReservationRegistry: the tokens live in the pool shared by every worker ----

void Worker::hold(uint64_t token, const turn::Reservation& r) {
  ports_.share(token, r.family, r.port);
}

std::optional<turn::Reservation> Worker::take(uint64_t token) {
  const auto held = ports_.take(token);
  if (!held) return std::nullopt;
  return turn::Reservation{held->first, held->second};
}

void Worker::release(uint64_t, const turn::Reservation& r) { ports_.release_reservation(r.port); }

// ---- turn::Observer: logs, rate-limited so a flood cannot fill the disk ----

bool Worker::log_allowed() noexcept {
  if (log_budget_.try_take(static_cast<Millis>(uv_now(loop_)))) {
    if (const uint64_t suppressed = log_budget_.take_suppressed(); suppressed > 0) {
      spdlog::info("{} similar log lines suppressed", suppressed);
    }
    return true;
  }
  return false;
}

void Worker::on_allocation_created(const FiveTuple& client, const SocketAddress& relayed,
                                   std::string_view username) {
  spdlog::debug("allocation {} -> {} for user '{}'", client.client.to_string(), relayed.to_string(),
                username);
}

void Worker::on_allocation_deleted(const FiveTuple& client, std::string_view reason) {
  spdlog::debug("allocation of {} deleted: {}", client.client.to_string(), reason);
}

void Worker::on_auth_failure(const FiveTuple& client, turn::AuthFailure failure) {
  if (failure == turn::AuthFailure::kStaleNonce) return;  // routine: nonces expire
  if (!spdlog::should_log(spdlog::level::info) || !log_allowed()) return;
  spdlog::info("auth failure from {}: {}", client.client.to_string(), turn::to_string(failure));
}

void Worker::on_peer_denied(const FiveTuple& client, const SocketAddress& peer) {
  if (!spdlog::should_log(spdlog::level::info) || !log_allowed()) return;
  spdlog::info("peer {} denied by policy for {}", peer.ip.to_string(), client.client.to_string());
}

}  // namespace turnpike::net
