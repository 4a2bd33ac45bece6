// Wires the config into the core and the transport, then runs the event loop.
#include "daemon.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <uv.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "privileges.h"
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

}  // namespace

int run(const config::Config& config) {
  auth::CredentialStore credentials;
  for (const auto& [name, password] : config.auth.static_users) {
    credentials.add_static_user(name, password);
  }
  credentials.set_rest_secrets(config.auth.rest_secrets, config.auth.rest_separator);

  std::array<uint8_t, 40> random{};
  if (!crypto::random_bytes(random)) throw std::runtime_error("no randomness from OpenSSL");
  const auth::NonceIssuer nonces(ByteView(random.data(), 32),
                                 Millis{config.auth.nonce_lifetime_s} * 1000);
  uint64_t seed = 0;
  for (size_t i = 32; i < 40; ++i) seed = (seed << 8) | random[i];
  const policy::PeerFilter peer_filter(cidrs(config.peers.allow), cidrs(config.peers.deny));

  // Certificates and keys are read now, before privileges are dropped (Let's Encrypt keys are
  // readable by root only).
  std::unique_ptr<net::TlsContext> tls;
  if (!config.tls.certificate.empty()) {
    tls = net::TlsContext::load(config.tls.certificate, config.tls.private_key);
  }

  net::WorkerSetup setup;
  setup.server = server_config(config, seed);
  setup.tls = tls ? tls->get() : nullptr;
  setup.handshake_timeout_ms = uint64_t{config.tls.handshake_timeout_s} * 1000;
  setup.listeners = config.listeners;
  setup.relay_ipv4 = config.relay.address;
  setup.relay_ipv6 = config.relay.ipv6_address;
  setup.relay_port_min = config.relay.port_min;
  setup.relay_port_max = config.relay.port_max;

  uv_loop_t loop;
  uv_loop_init(&loop);
  auto worker =
      std::make_unique<net::Worker>(&loop, std::move(setup), credentials, nonces, peer_filter);
  worker->start();
  drop_privileges(config.user, config.group);  // after binding ports below 1024

  struct Signals {
    uv_signal_t sigint{};
    uv_signal_t sigterm{};
    net::Worker* worker = nullptr;
  } signals;
  signals.worker = worker.get();
  const auto on_signal = [](uv_signal_t* handle, int signum) {
    auto* s = static_cast<Signals*>(handle->data);
    spdlog::info("signal {}: shutting down", signum);
    s->worker->stop();
    uv_close(reinterpret_cast<uv_handle_t*>(&s->sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->sigterm), nullptr);
  };
  for (uv_signal_t* h : {&signals.sigint, &signals.sigterm}) {
    uv_signal_init(&loop, h);
    h->data = &signals;
  }
  uv_signal_start(&signals.sigint, on_signal, SIGINT);
  uv_signal_start(&signals.sigterm, on_signal, SIGTERM);

  warn_about_relay_address(config);
  log_capacity(config);
  std::string names;
  for (const std::string& n : worker->listener_names()) names += (names.empty() ? "" : ", ") + n;
  spdlog::info("turnpiked ready: {} (realm '{}', relay {} ports {}-{})", names, config.auth.realm,
               config.relay.address.to_string(), config.relay.port_min, config.relay.port_max);

  uv_run(&loop, UV_RUN_DEFAULT);
  worker.reset();
  if (uv_loop_close(&loop) != 0) spdlog::warn("event loop closed with handles still open");
  spdlog::info("turnpiked stopped");
  return 0;
}

}  // namespace turnpike::daemon
