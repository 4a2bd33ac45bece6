// Wires the config into the core and the transport, then runs the event loop.
#include "daemon.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "privileges.h"
#include "sd_notify.h"
#include "turnpike/net/tls_context.h"
#include "turnpike/net/worker.h"
#include "turnpike/util/crypto.h"

namespace turnpike::daemon {
namespace {

turn::ServerConfig server_config(const config::Config& c) {
  turn::ServerConfig s;
  s.realm = c.auth.realm;
  s.software = c.software;
  s.default_lifetime_ms = Millis{c.allocation.default_lifetime_s} * 1000;
  s.max_lifetime_ms = Millis{c.allocation.max_lifetime_s} * 1000;
  s.permission_lifetime_ms = Millis{c.allocation.permission_lifetime_s} * 1000;
  s.channel_lifetime_ms = Millis{c.allocation.channel_lifetime_s} * 1000;
  s.nonce_lifetime_ms = Millis{c.auth.nonce_lifetime_s} * 1000;
  s.max_allocations = c.allocation.max_total;
  s.max_allocations_per_user = c.allocation.max_per_user;
  s.max_allocations_per_label = c.allocation.max_per_label;
  s.max_permissions = c.allocation.max_permissions;
  s.max_channels = c.allocation.max_channels;
  s.strict_channel_numbers = c.allocation.strict_channel_numbers;
  s.password_algorithms = c.auth.password_algorithms;
  s.ipv6_relay = c.relay.ipv6_address.has_value();
  s.advertised_ipv4 = c.relay.advertised_address;
  s.advertised_ipv6 = c.relay.advertised_ipv6_address;
  s.relay_ipv4 = c.relay.address;
  s.relay_ipv6 = c.relay.ipv6_address;
  s.relay_port_min = c.relay.port_min;
  s.relay_port_max = c.relay.port_max;
  s.allow_own_listeners = c.peers.allow_listeners;  // the addresses: net::Worker fills them in
  s.unauthenticated_rate_per_s = c.limits.unauthenticated_requests_per_second;
  s.unauthenticated_burst = c.limits.unauthenticated_burst;
  s.max_bandwidth_per_allocation = c.limits.max_bandwidth_per_allocation;
  return s;
}

std::vector<policy::Cidr> cidrs(const std::vector<std::string>& texts) {
  std::vector<policy::Cidr> out;
  for (const std::string& t : texts) {
    if (auto c = policy::Cidr::parse(t)) out.push_back(*c);  // validated by the config loader
  }
  return out;
}

void warn_about_relay_address(const config::Config& c) {
  // Behind 1:1 NAT (cloud VMs) the relay must advertise its public address, or remote clients get
  // a relayed address they cannot reach.
  const IpAddress shown = c.relay.advertised_address.value_or(c.relay.address);
  if (!policy::PeerFilter().allows(shown)) {
    spdlog::warn(
        "relayed addresses will be {} (not publicly routable: a private, loopback or reserved "
        "range): clients outside this network cannot reach them; set relay.advertised_address to "
        "the public IP",
        shown.to_string());
  }
}

void log_capacity(const config::Config& c) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const size_t ports = static_cast<size_t>(c.relay.port_max - c.relay.port_min) + 1;
  spdlog::info("capacity: {} relay ports, {} allocations max, open-file limit {}", ports,
               c.allocation.max_total, nofile.rlim_cur);
  if (nofile.rlim_cur < c.allocation.max_total + 64) {
    spdlog::warn("open-file limit {} is below allocation.max_total ({}): raise LimitNOFILE",
                 nofile.rlim_cur, c.allocation.max_total);
  }
}

// What one worker thread owns: its loop, its worker (listeners, relays, allocations) and its own
// copies of what a reload replaces. The worker's server holds references to `credentials` and
// `peer_filter`; a reload posts new values to the worker's own thread, which assigns them between
// two packets, so no lock is ever taken on the packet path.
struct WorkerSlot {
  auth::CredentialStore credentials;
  policy::PeerFilter peer_filter;
  uv_loop_t loop{};
  std::unique_ptr<net::Worker> worker;
  std::thread thread;
};

// The reloadable state, built on the main thread and handed to every worker.
struct Reloadable {
  auth::CredentialStore credentials;
  policy::PeerFilter peer_filter;
  std::unique_ptr<net::TlsContext> tls;
};

Reloadable load_reloadable(const config::Config& c) {
  Reloadable r;
  if (!c.tls.certificate.empty())
    r.tls = net::TlsContext::load(c.tls.certificate, c.tls.private_key);
  for (const auto& [name, password] : c.auth.static_users)
    r.credentials.add_static_user(name, password);
  r.credentials.set_rest_secrets(c.auth.rest_secrets, c.auth.rest_separator);
  r.peer_filter = policy::PeerFilter(cidrs(c.peers.allow), cidrs(c.peers.deny));
  return r;
}

size_t worker_count(const config::Config& c) {
  if (c.workers > 0) return c.workers;
  return std::max(1U, std::thread::hardware_concurrency());
}

// The main thread runs a small control loop (signals, certificate file polling); each worker runs
// its own loop on its own thread with its own listening sockets (SO_REUSEPORT when there are
// several), relay ports (a slice of the range) and allocations: shared nothing on the packet path.
class Daemon {
 public:
  Daemon(const config::Config& config, ConfigSource reload_source)
      : config_(config), reload_source_(std::move(reload_source)) {
    // The nonce key; every other secret (tokens, transaction ids, port choice, the limiter's
    // hash key) is drawn apart by its user, so none can be derived from another.
    std::array<uint8_t, 32> random{};
    if (!crypto::random_bytes(random)) throw std::runtime_error("no randomness from OpenSSL");
    nonces_ = std::make_unique<auth::NonceIssuer>(ByteView(random.data(), random.size()),
                                                  Millis{config.auth.nonce_lifetime_s} * 1000);
    service_ = std::make_unique<http::ServiceHandler>(http::make_service_config(config));
    uv_loop_init(&loop_);
  }

  int run() {
    Reloadable initial = load_reloadable(config_);  // reads keys before privileges are dropped
    const size_t n = worker_count(config_);
    board_ = std::make_unique<net::MetricsBoard>(n);
    ports_ =
        std::make_unique<net::SharedRelayPorts>(config_.relay.port_min, config_.relay.port_max);
    connection_limits_ = std::make_unique<net::SharedConnectionLimits>(
        config_.limits.max_connections, config_.limits.max_connections_per_ip);
    quota_ =
        std::make_unique<net::SharedAllocationQuota>(turn::quota_limits(server_config(config_)));
    for (size_t i = 0; i < n; ++i) {
      auto slot = std::make_unique<WorkerSlot>();
      slot->credentials = initial.credentials;
      slot->peer_filter = initial.peer_filter;
      uv_loop_init(&slot->loop);
      net::WorkerSetup setup = worker_setup(initial.tls ? initial.tls->get() : nullptr, i, n);
      slot->worker = std::make_unique<net::Worker>(&slot->loop, std::move(setup), slot->credentials,
                                                   *nonces_, slot->peer_filter);
      slot->worker->start();  // binds now, on this thread: errors surface before anything runs
      slots_.push_back(std::move(slot));
    }
    tls_ = std::move(initial.tls);
    drop_privileges(config_.user, config_.group);  // after binding ports below 1024
    for (auto& slot : slots_) {
      WorkerSlot* s = slot.get();
      s->thread = std::thread([s] { uv_run(&s->loop, UV_RUN_DEFAULT); });
    }
    start_signals();
    watch_certificate();
    watch_local_addresses();

    warn_about_relay_address(config_);
    log_capacity(config_);
    std::string names;
    for (const std::string& name : slots_.front()->worker->listener_names()) {
      names += (names.empty() ? "" : ", ") + name;
    }
    spdlog::info("turnpiked ready: {} (realm '{}', relay {} ports {}-{}, {} worker{})", names,
                 config_.auth.realm, config_.relay.address.to_string(), config_.relay.port_min,
                 config_.relay.port_max, n, n == 1 ? "" : "s");
    notify_systemd("READY=1\nSTATUS=relaying");

    uv_run(&loop_, UV_RUN_DEFAULT);  // until SIGINT/SIGTERM
    for (auto& slot : slots_) slot->thread.join();
    for (auto& slot : slots_) {
      slot->worker.reset();
      if (uv_loop_close(&slot->loop) != 0) spdlog::warn("a worker loop closed with handles open");
    }
    if (uv_loop_close(&loop_) != 0) spdlog::warn("event loop closed with handles still open");
    spdlog::info("turnpiked stopped");
    return 0;
  }

 private:
  net::WorkerSetup worker_setup(SSL_CTX* tls, size_t index, size_t n) {
    net::WorkerSetup setup;
    setup.server = server_config(config_);
    setup.tls = tls;
    setup.http = service_.get();
    setup.handshake_timeout_ms = uint64_t{config_.tls.handshake_timeout_s} * 1000;
    setup.stream_idle_timeout_ms = uint64_t{config_.limits.stream_idle_timeout_s} * 1000;
    setup.listeners = config_.listeners;
    setup.relay_ipv4 = config_.relay.address;
    setup.relay_ipv6 = config_.relay.ipv6_address;
    setup.relay_port_min = config_.relay.port_min;
    setup.relay_port_max = config_.relay.port_max;
    setup.ports = ports_.get();  // one pool and reservation registry for all workers
    setup.connection_limits = connection_limits_.get();  // one count for all workers
    setup.quota = quota_.get();                          // allocation quotas for all workers
    setup.shared_listeners = n > 1;
    setup.index = index;
    setup.metrics = board_.get();
    return setup;
  }

  // SIGHUP: static users, REST secrets (the first mints, all verify), API keys, peer policy and
  // the TLS certificate (new connections use it). Allocations are untouched.
  void reload() {
    notify_systemd("RELOADING=1");
    spdlog::info("SIGHUP: reloading secrets, users, API keys, peer policy and TLS certificate");
    try {
      if (auto fresh = reload_source_()) {
        Reloadable r = load_reloadable(*fresh);
        // Listeners are not reloaded (sockets stay bound): the endpoint keeps advertising the
        // ones that really run.
        http::ServiceConfig service = http::make_service_config(*fresh);
        service.ports = http::listener_ports(config_.listeners);
        service_->update(std::move(service));
        hand_to_workers(r.credentials, r.peer_filter, r.tls ? r.tls->get() : nullptr);
        if (r.tls) tls_ = std::move(r.tls);
        refresh_local_addresses(true);
        spdlog::info("reload done ({} REST secret(s), {} static user(s))",
                     fresh->auth.rest_secrets.size(), fresh->auth.static_users.size());
      } else {
        spdlog::error("reload failed: keeping the running configuration");
      }
    } catch (const std::exception& e) {
      spdlog::error("reload failed: {}; keeping the running configuration", e.what());
    }
    notify_systemd("READY=1");
  }

  void hand_to_workers(const auth::CredentialStore& credentials, const policy::PeerFilter& filter,
                       SSL_CTX* tls) {
    for (auto& slot : slots_) {
      WorkerSlot* s = slot.get();
      if (tls != nullptr) SSL_CTX_up_ref(tls);  // kept alive until the worker took its own ref
      s->worker->post([s, credentials, filter, tls] {
        s->credentials = credentials;
        s->peer_filter = filter;
        if (tls != nullptr) {
          s->worker->set_tls(tls);
          SSL_CTX_free(tls);
        }
      });
    }
  }

  // The host's addresses change (DHCP, a floating IP, an interface added): the workers read them at
  // start; they are read again every minute (here, off the packet path) and on SIGHUP, and posted
  // to every worker when they differ. A new filter's generation (hand_to_workers) and a new
  // address set both make the workers' cached peer verdicts stale (turn::PeerVerdict).
  void watch_local_addresses() {
    local_addresses_ = net::interface_addresses();
    addresses_timer_.init(&uv_timer_init, &loop_, this);
    uv_timer_start(
        addresses_timer_.get(),
        [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->refresh_local_addresses(false); },
        kAddressesPollMs, kAddressesPollMs);
  }

  void refresh_local_addresses(bool always) {
    std::vector<IpAddress> fresh = net::interface_addresses();
    if (!always && fresh == local_addresses_) return;
    if (fresh != local_addresses_) spdlog::info("local addresses changed: {} now", fresh.size());
    local_addresses_ = fresh;
    for (auto& slot : slots_) {
      net::Worker* w = slot->worker.get();
      w->post([w, fresh] { w->set_local_addresses(fresh); });
    }
  }

  // Let's Encrypt renews certificates in place: when the PEM files change, load them again (new
  // TLS connections get the new certificate; SIGHUP does the same on demand). Polling the files'
  // stat every 30 s costs nothing and works for renames and plain rewrites alike.
  void watch_certificate() {
    if (config_.tls.certificate.empty()) return;
    const auto on_change = [](uv_fs_poll_t* handle, int status, const uv_stat_t*,
                              const uv_stat_t*) {
      if (status != 0) return;  // the file is missing right now (mid-renewal); keep the old one
      static_cast<Daemon*>(handle->data)->reload_certificate();
    };
    size_t index = 0;
    for (const std::string* path : {&config_.tls.certificate, &config_.tls.private_key}) {
      net::UvHandle<uv_fs_poll_t>& poll = cert_polls_[index++];
      poll.init(&uv_fs_poll_init, &loop_, this);
      uv_fs_poll_start(poll.get(), on_change, path->c_str(), kCertificatePollMs);
    }
  }

  void reload_certificate() {
    try {
      auto tls = net::TlsContext::load(config_.tls.certificate, config_.tls.private_key);
      for (auto& slot : slots_) {
        net::Worker* w = slot->worker.get();
        SSL_CTX* ctx = tls->get();
        SSL_CTX_up_ref(ctx);
        w->post([w, ctx] {
          w->set_tls(ctx);
          SSL_CTX_free(ctx);
        });
      }
      tls_ = std::move(tls);
      spdlog::info("TLS certificate files changed: reloaded");
    } catch (const std::exception& e) {
      // A renewal writes the chain and the key one after the other: a mismatch in between is
      // normal, and the next change event retries.
      spdlog::warn("TLS certificate files changed but could not be loaded yet: {}", e.what());
    }
  }

  // SIGTERM with shutdown.grace_period: the workers refuse new allocations (508) and close their
  // TCP/TLS listeners; the daemon exits (0) once no allocation is left or the period is over. A
  // second SIGTERM, or SIGINT, stops at once.
  void begin_drain() {
    draining_ = true;
    spdlog::info(
        "SIGTERM: draining: new allocations refused, waiting up to {} s for {} allocation(s)",
        config_.shutdown.grace_period_s, board_->allocations());
    notify_systemd("STOPPING=1\nSTATUS=draining");
    for (auto& slot : slots_) {
      net::Worker* w = slot->worker.get();
      w->post([this, w] {
        w->drain();
        drained_workers_.fetch_add(1);
      });
    }
    drain_deadline_ms_ = uv_now(&loop_) + uint64_t{config_.shutdown.grace_period_s} * 1000;
    drain_timer_.init(&uv_timer_init, &loop_, this);
    uv_timer_start(
        drain_timer_.get(), [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->check_drain(); },
        kDrainPollMs, kDrainPollMs);
  }

  void check_drain() {
    // The board is as of each worker's last tick (500 ms) or drain(), which publishes at once.
    if (drained_workers_.load() < slots_.size()) return;
    const uint64_t left = board_->allocations();
    if (left == 0) {
      spdlog::info("drained: no allocation left");
      stop(SIGTERM);
    } else if (uv_now(&loop_) >= drain_deadline_ms_) {
      spdlog::info("grace period over with {} allocation(s) left", left);
      stop(SIGTERM);
    }
  }

  void stop(int signum) {
    if (signum == SIGTERM && config_.shutdown.grace_period_s > 0 && !draining_) {
      begin_drain();
      return;
    }
    if (stopped_) return;
    stopped_ = true;
    drain_timer_.close();
    addresses_timer_.close();
    spdlog::info("signal {}: shutting down", signum);
    notify_systemd("STOPPING=1");
    for (auto& slot : slots_) {
      net::Worker* w = slot->worker.get();
      w->post([w] { w->stop(); });  // each worker closes its own handles; its loop then ends
    }
    for (net::UvHandle<uv_signal_t>* h : {&sigint_, &sigterm_, &sighup_}) h->close();
    for (net::UvHandle<uv_fs_poll_t>& poll : cert_polls_) poll.close();
  }

  void start_signals() {
    for (net::UvHandle<uv_signal_t>* h : {&sigint_, &sigterm_, &sighup_}) {
      h->init(&uv_signal_init, &loop_, this);
    }
    const auto on_stop = [](uv_signal_t* h, int signum) {
      static_cast<Daemon*>(h->data)->stop(signum);
    };
    uv_signal_start(sigint_.get(), on_stop, SIGINT);
    uv_signal_start(sigterm_.get(), on_stop, SIGTERM);
    uv_signal_start(
        sighup_.get(), [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->reload(); },
        SIGHUP);
  }

  config::Config config_;
  ConfigSource reload_source_;
  std::unique_ptr<auth::NonceIssuer> nonces_;
  std::unique_ptr<net::TlsContext> tls_;
  std::unique_ptr<http::ServiceHandler> service_;
  std::unique_ptr<net::MetricsBoard> board_;
  std::unique_ptr<net::SharedRelayPorts> ports_;
  std::unique_ptr<net::SharedConnectionLimits> connection_limits_;
  std::unique_ptr<net::SharedAllocationQuota> quota_;
  std::vector<std::unique_ptr<WorkerSlot>> slots_;
  bool draining_ = false;
  bool stopped_ = false;
  std::atomic<size_t> drained_workers_{0};
  uint64_t drain_deadline_ms_ = 0;
  net::UvHandle<uv_timer_t> drain_timer_;
  static constexpr uint64_t kDrainPollMs = 100;
  uv_loop_t loop_{};
  net::UvHandle<uv_signal_t> sigint_;
  net::UvHandle<uv_signal_t> sigterm_;
  net::UvHandle<uv_signal_t> sighup_;
  std::array<net::UvHandle<uv_fs_poll_t>, 2> cert_polls_;  // certificate chain, private key
  net::UvHandle<uv_timer_t> addresses_timer_;
  std::vector<IpAddress> local_addresses_;
  static constexpr uint64_t kAddressesPollMs = 60'000;
  static constexpr unsigned kCertificatePollMs = 30'000;
};

}  // namespace

int run(const config::Config& config, ConfigSource reload_source) {
  Daemon daemon(config, std::move(reload_source));
  return daemon.run();
}

}  // namespace turnpike::daemon
