// listeners[]: transport, address, port, metrics, proxy_protocol, proxy_protocol_from; the default
// listeners when the key is absent; duplicate addresses; trusted proxies required with PROXY. (A
// "tls" listener needing tls.certificate: tls.cpp.)
#include <optional>
#include <string>
#include <string_view>

#include "sections.h"

namespace turnpike::config::detail {
namespace {

constexpr uint16_t kDefaultPort = 3478;     // RFC 8656 §4: STUN/TURN over UDP and TCP
constexpr uint16_t kDefaultTlsPort = 5349;  // ... and over TLS
constexpr uint16_t kDefaultMetricsPort = 9641;

bool parse_transport(std::string_view name, Listener& listener) {
  listener.http_only = name == "http" || name == "https";
  listener.metrics = name == "http";
  if (name == "udp") {
    listener.transport = Transport::kUdp;
  } else if (name == "tcp" || name == "http") {
    listener.transport = Transport::kTcp;
  } else if (name == "tls" || name == "https") {
    listener.transport = Transport::kTls;
  } else {
    return false;
  }
  return true;
}

Listener read_listener(Reader& r, const Json& value, const std::string& path) {
  Listener listener;
  std::optional<uint16_t> port;
  std::optional<bool> metrics;
  r.object(value, path,
           {{"transport",
             [&](const Json& v, const std::string& p) {
               if (auto name = r.string(v, p)) {
                 if (!parse_transport(*name, listener)) {
                   r.error(p, quote_json(*name) + " is not one of udp, tcp, tls, http, https");
                 }
               }
             }},
            {"metrics", [&](const Json& v, const std::string& p) { metrics = r.boolean(v, p); }},
            {"proxy_protocol",
             [&](const Json& v, const std::string& p) {
               if (auto on = r.boolean(v, p)) listener.proxy_protocol = *on;
             }},
            {"proxy_protocol_from",
             [&](const Json& v, const std::string& p) {
               read_cidr_list(r, v, p, listener.proxy_protocol_from);
             }},
            {"address",
             [&](const Json& v, const std::string& p) {
               if (auto ip = r.ip_address(v, p)) listener.address.ip = *ip;
             }},
            {"port", [&](const Json& v, const std::string& p) {
               if (auto n = r.integer(v, p, 1, 65535)) port = static_cast<uint16_t>(*n);
             }}});
  if (metrics) listener.metrics = *metrics;
  uint16_t default_port = listener.transport == Transport::kTls ? kDefaultTlsPort : kDefaultPort;
  if (listener.http_only)
    default_port = listener.transport == Transport::kTls ? 443 : kDefaultMetricsPort;
  listener.address.port = port.value_or(default_port);
  if (listener.proxy_protocol && listener.transport == Transport::kUdp) {
    r.error(path + ".proxy_protocol",
            "PROXY protocol is for TCP-based listeners (tcp, tls, http, https)");
  }
  if (listener.metrics && listener.transport == Transport::kUdp) {
    r.error(path + ".metrics",
            "only listeners that speak HTTP (tls, http, https) can serve /metrics");
  }
  return listener;
}

// PROXY headers are trusted only from the proxies the operator names: anyone else could choose the
// address every limit, nonce and log line uses.
void validate_proxy_sources(const Listener& listener, const std::string& path, Reader& r) {
  const std::string key = path + ".proxy_protocol_from";
  if (listener.proxy_protocol && listener.proxy_protocol_from.empty()) {
    r.error(key,
            "required when proxy_protocol is true: the CIDRs of the proxies allowed to send "
            "the PROXY header (e.g. [\"127.0.0.1/32\"])");
  }
  if (!listener.proxy_protocol && !listener.proxy_protocol_from.empty()) {
    r.error(key, "only applies with \"proxy_protocol\": true");
  }
  for (size_t i = 0; i < listener.proxy_protocol_from.size(); ++i) {
    check_cidr(listener.proxy_protocol_from[i], index_path(key, i), r);
  }
}

}  // namespace

void read_listeners(Reader& r, const Json& value, const std::string& path, Config& config) {
  if (!r.array(value, path)) return;
  config.listeners.clear();
  for (size_t i = 0; i < value.size(); ++i) {
    config.listeners.push_back(read_listener(r, value[i], index_path(path, i)));
  }
}

void apply_default_listeners(const Json& root, Config& config) {
  if (!root.is_object() || root.contains("listeners")) return;
  // RFC 8656 §4 ports: 3478 for UDP and TCP, 5349 for TLS; and TLS on 443 for networks that
  // let nothing but HTTPS out.
  const auto plain = [](Transport transport, uint16_t port) {
    Listener listener;
    listener.transport = transport;
    listener.address = SocketAddress{IpAddress{}, port};
    return listener;
  };
  config.listeners = {plain(Transport::kUdp, kDefaultPort), plain(Transport::kTcp, kDefaultPort)};
  if (!config.tls.certificate.empty()) {
    config.listeners.push_back(plain(Transport::kTls, kDefaultTlsPort));
    config.listeners.push_back(plain(Transport::kTls, 443));
  }
}

void validate_listeners(const Config& config, Reader& r) {
  if (config.listeners.empty()) r.error("listeners", "at least one listener is required");
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const Listener& listener = config.listeners[i];
    if (listener.address.port == 0) r.error(index_path("listeners", i) + ".port", "must not be 0");
    validate_proxy_sources(listener, index_path("listeners", i), r);
    for (size_t j = 0; j < i; ++j) {
      const Listener& other = config.listeners[j];
      const bool both_stream =
          listener.transport != Transport::kUdp && other.transport != Transport::kUdp;
      if (listener.address == other.address &&
          (listener.transport == other.transport || both_stream)) {
        r.error(index_path("listeners", i),
                listener.address.to_string() + " is already used by " + index_path("listeners", j));
        break;
      }
    }
  }
}

}  // namespace turnpike::config::detail
