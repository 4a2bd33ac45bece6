// Wires the config into the core and the transport, then runs the event loop.
#include "daemon.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <uv.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "privileges.h"
#include "sd_notify.h"
#include "turnpike/net/tls_context.h"
#include "turnpike/net/worker.h"
#include "turnpike/util/crypto.h"

namespace turnpike::daemon {
namespace {

turn::ServerConfig server_config(const config::Config& c, uint64_t seed) {
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
  s.max_permissions = c.allocation.max_permissions;
  s.max_channels = c.allocation.max_channels;
  s.strict_channel_numbers = c.allocation.strict_channel_numbers;
  s.password_algorithms = c.auth.password_algorithms;
  s.ipv6_relay = c.relay.ipv6_address.has_value();
  s.advertised_ipv4 = c.relay.advertised_address;
  s.advertised_ipv6 = c.relay.advertised_ipv6_address;
  s.random_seed = seed;
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
        "relayed addresses will be {} (private or loopback): clients outside this network cannot "
        "reach them; set relay.advertised_address to the public IP",
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

// Everything the loop needs, owned in one place. The core holds references to `credentials` and
// `peer_filter`, so a reload assigns new contents to these same objects (single-threaded: the
// reload runs on the loop between packets).
class Daemon {
 public:
  Daemon(const config::Config& config, ConfigSource reload_source)
      : config_(config), reload_source_(std::move(reload_source)) {
    std::array<uint8_t, 40> random{};
    if (!crypto::random_bytes(random)) throw std::runtime_error("no randomness from OpenSSL");
    nonces_ = std::make_unique<auth::NonceIssuer>(ByteView(random.data(), 32),
                                                  Millis{config.auth.nonce_lifetime_s} * 1000);
    for (size_t i = 32; i < 40; ++i) seed_ = (seed_ << 8) | random[i];
    service_ = std::make_unique<http::ServiceHandler>(http::make_service_config(config));
    apply_reloadable(config);  // credentials, peer filter, TLS context, API keys
    uv_loop_init(&loop_);
  }

  int run() {
    net::WorkerSetup setup;
    setup.server = server_config(config_, seed_);
    setup.tls = tls_ ? tls_->get() : nullptr;
    setup.http = service_.get();
    setup.handshake_timeout_ms = uint64_t{config_.tls.handshake_timeout_s} * 1000;
    setup.listeners = config_.listeners;
    setup.relay_ipv4 = config_.relay.address;
    setup.relay_ipv6 = config_.relay.ipv6_address;
    setup.relay_port_min = config_.relay.port_min;
    setup.relay_port_max = config_.relay.port_max;
    worker_ = std::make_unique<net::Worker>(&loop_, std::move(setup), credentials_, *nonces_,
                                            peer_filter_);
    service_->set_metrics_source(worker_.get());
    worker_->start();
    drop_privileges(config_.user, config_.group);  // after binding ports below 1024
    start_signals();
    watch_certificate();

    warn_about_relay_address(config_);
    log_capacity(config_);
    std::string names;
    for (const std::string& n : worker_->listener_names()) {
      names += (names.empty() ? "" : ", ") + n;
    }
    spdlog::info("turnpiked ready: {} (realm '{}', relay {} ports {}-{})", names,
                 config_.auth.realm, config_.relay.address.to_string(), config_.relay.port_min,
                 config_.relay.port_max);
    notify_systemd("READY=1\nSTATUS=relaying");

    uv_run(&loop_, UV_RUN_DEFAULT);
    service_->set_metrics_source(nullptr);
    worker_.reset();
    if (uv_loop_close(&loop_) != 0) spdlog::warn("event loop closed with handles still open");
    spdlog::info("turnpiked stopped");
    return 0;
  }

 private:
  // What SIGHUP can change without dropping allocations: static users, REST secrets (the first
  // mints, all verify), peer policy and the TLS certificate (new connections use the new one).
  void apply_reloadable(const config::Config& c) {
    std::unique_ptr<net::TlsContext> tls;
    if (!c.tls.certificate.empty())
      tls = net::TlsContext::load(c.tls.certificate, c.tls.private_key);
    auth::CredentialStore credentials;
    for (const auto& [name, password] : c.auth.static_users)
      credentials.add_static_user(name, password);
    credentials.set_rest_secrets(c.auth.rest_secrets, c.auth.rest_separator);
    credentials_ = std::move(credentials);
    peer_filter_ = policy::PeerFilter(cidrs(c.peers.allow), cidrs(c.peers.deny));
    service_->update(http::make_service_config(c));
    if (tls) {
      tls_ = std::move(tls);  // open sessions keep a reference to the old SSL_CTX
      if (worker_) worker_->set_tls(tls_->get());
    }
  }

  void reload() {
    notify_systemd("RELOADING=1");
    spdlog::info("SIGHUP: reloading secrets, users, peer policy and TLS certificate");
    try {
      if (auto fresh = reload_source_()) {
        apply_reloadable(*fresh);
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
      uv_fs_poll_t* poll = &cert_polls_[index++];
      uv_fs_poll_init(&loop_, poll);
      poll->data = this;
      uv_fs_poll_start(poll, on_change, path->c_str(), kCertificatePollMs);
    }
  }

  void reload_certificate() {
    try {
      auto tls = net::TlsContext::load(config_.tls.certificate, config_.tls.private_key);
      tls_ = std::move(tls);
      worker_->set_tls(tls_->get());
      spdlog::info("TLS certificate files changed: reloaded");
    } catch (const std::exception& e) {
      // A renewal writes the chain and the key one after the other: a mismatch in between is
      // normal, and the next change event retries.
      spdlog::warn("TLS certificate files changed but could not be loaded yet: {}", e.what());
    }
  }

  void stop(int signum) {
    spdlog::info("signal {}: shutting down", signum);
    notify_systemd("STOPPING=1");
    worker_->stop();
    for (uv_signal_t* h : {&sigint_, &sigterm_, &sighup_}) {
      uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    }
    for (uv_fs_poll_t& poll : cert_polls_) {
      if (poll.data != nullptr) uv_close(reinterpret_cast<uv_handle_t*>(&poll), nullptr);
    }
  }

  void start_signals() {
    for (uv_signal_t* h : {&sigint_, &sigterm_, &sighup_}) {
      uv_signal_init(&loop_, h);
      h->data = this;
    }
    const auto on_stop = [](uv_signal_t* h, int signum) {
      static_cast<Daemon*>(h->data)->stop(signum);
    };
    uv_signal_start(&sigint_, on_stop, SIGINT);
    uv_signal_start(&sigterm_, on_stop, SIGTERM);
    uv_signal_start(
        &sighup_, [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->reload(); }, SIGHUP);
  }

  config::Config config_;
  ConfigSource reload_source_;
  uint64_t seed_ = 0;
  std::unique_ptr<auth::NonceIssuer> nonces_;
  auth::CredentialStore credentials_;
  policy::PeerFilter peer_filter_;
  std::unique_ptr<net::TlsContext> tls_;
  std::unique_ptr<http::ServiceHandler> service_;
  uv_loop_t loop_{};
  std::unique_ptr<net::Worker> worker_;
  uv_signal_t sigint_{};
  uv_signal_t sigterm_{};
  uv_signal_t sighup_{};
  std::array<uv_fs_poll_t, 2> cert_polls_{};  // certificate chain, private key
  static constexpr unsigned kCertificatePollMs = 30'000;
};

}  // namespace

int run(const config::Config& config, ConfigSource reload_source) {
  Daemon daemon(config, std::move(reload_source));
  return daemon.run();
}

}  // namespace turnpike::daemon
