// The HTTP service on the TURN server's port 443 (and wherever the transport sends HTTP):
//   GET|POST <credentials.path>  24 h TURN REST credentials for apps (API key or anonymous)
//   OPTIONS  <credentials.path>  CORS preflight
//   GET /healthz                 {"status":"ok"}
//   GET /metrics                 Prometheus text from a MetricsSource
// Sans-I/O: time is passed in, nothing is logged, no socket is touched.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "turnpike/config/config.h"
#include "turnpike/http/http_session.h"
#include "turnpike/policy/rate_limiter.h"
#include "turnpike/util/crypto.h"
#include "turnpike/util/secret.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::http {

// What the daemon listens on, as clients should be told: udp -> "turn:H:P?transport=udp" (and
// "stun:H:P"), tcp -> "turn:H:P?transport=tcp", tls -> "turns:H:P?transport=tcp".
struct ListenerPort {
  Transport transport = Transport::kUdp;
  uint16_t port = 0;
  bool operator==(const ListenerPort&) const = default;
};

// The listeners' transports and ports, in config order, without duplicates.
std::vector<ListenerPort> listener_ports(const std::vector<config::Listener>& listeners);

struct ServiceConfig {
  config::CredentialsConfig credentials;
  std::vector<Secret> rest_secrets;  // auth.rest_secrets: the first one mints
  char rest_separator = ':';
  std::vector<ListenerPort> ports;  // usually listener_ports(config.listeners)
  bool metrics_enabled = true;      // false: /metrics answers 404 everywhere
  size_t max_tracked_ips = 10000;   // per-IP rate-limit entries kept (least recently used go)
};

// ServiceConfig from the whole daemon config.
ServiceConfig make_service_config(const config::Config& config, bool metrics_enabled = true);

// Supplies the /metrics body (Prometheus text exposition format 0.0.4). Called on the thread
// that calls ServiceHandler::handle.
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  [[nodiscard]] virtual std::string render() const = 0;
};

// Thread-safe: handle() and update() may be called from several threads (one mutex).
class ServiceHandler : public Handler {
 public:
  explicit ServiceHandler(ServiceConfig config, const MetricsSource* metrics = nullptr);

  Response handle(const Request& request, const Now& now) override;
  // As handle(), with /metrics answering 404 unless metrics_allowed (per listener; see
  // ListenerView).
  // `source`, when given, renders /metrics instead of the handler's own source (each worker
  // thread passes itself, so a scrape reads that worker's live state plus the others' snapshots).
  Response handle(const Request& request, const Now& now, bool metrics_allowed,
                  const MetricsSource* source = nullptr);

  // Swaps the configuration (config reload). Rate-limit state is kept unless the limits changed.
  void update(ServiceConfig config);
  // nullptr: /metrics answers 404. The source must outlive the handler or be unset first.
  void set_metrics_source(const MetricsSource* metrics);

  // Per-IP rate-limit entries currently held (bounded by max_tracked_ips).
  [[nodiscard]] size_t tracked_ips() const;

 private:
  struct IpEntry {
    policy::TokenBucket bucket;
    std::list<IpAddress>::iterator lru;
  };
  struct KeyDigest {
    crypto::Sha256Digest digest;
    size_t index;  // into config_.credentials.api_keys
  };
  struct Caller {
    enum class Kind { kMissing, kValid, kInvalid } kind = Kind::kMissing;
    std::string label;
  };

  Response credentials(const Request& request, const Now& now);
  Response preflight(const Request& request);
  [[nodiscard]] Caller authenticate(const Request& request) const;
  bool take_ip_token(const IpAddress& ip, Millis now);
  bool take_key_token(const std::string& label, Millis now);
  void add_cors_headers(const Request& request, Response& response) const;
  [[nodiscard]] bool origin_allowed(std::string_view origin) const;

  mutable std::mutex mutex_;
  std::map<int, uint64_t> credential_requests_;  // by HTTP status, for /metrics
  ServiceConfig config_;
  std::vector<KeyDigest> key_digests_;
  const MetricsSource* metrics_;
  std::unordered_map<IpAddress, IpEntry> ip_buckets_;
  std::list<IpAddress> ip_lru_;  // front = most recently used
  std::unordered_map<std::string, policy::TokenBucket> key_buckets_;
};

// One listener's view of a shared ServiceHandler (rate limits and keys stay shared): give it to
// that listener's HttpSessions. metrics_allowed=false hides /metrics there (404), e.g. on the
// public port 443 when metrics are meant for an internal listener only.
class ListenerView : public Handler {
 public:
  ListenerView(ServiceHandler& service, bool metrics_allowed, const MetricsSource* source = nullptr)
      : service_(service), metrics_allowed_(metrics_allowed), source_(source) {}
  Response handle(const Request& request, const Now& now) override {
    return service_.handle(request, now, metrics_allowed_, source_);
  }

 private:
  ServiceHandler& service_;
  bool metrics_allowed_;
  const MetricsSource* source_;
};

}  // namespace turnpike::http
