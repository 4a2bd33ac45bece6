// A TCP or TLS listening socket: accepted connections join the worker's StreamConnections. A TLS
// listener (port 443) also serves HTTP (the credential endpoint) when the service is configured;
// an http-only listener serves nothing else. A PROXY-protocol listener accepts connections only
// from its proxy_protocol_from ranges.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "turnpike/config/config.h"
#include "turnpike/http/credentials_endpoint.h"
#include "turnpike/net/stream_connections.h"
#include "turnpike/net/uv_handle.h"

namespace turnpike::net {

class StreamListener {
 public:
  static constexpr int kBacklog = 511;

  // Throws std::runtime_error naming the listener when HTTP is asked for but not configured.
  StreamListener(StreamConnections& connections, const config::Listener& listener,
                 http::ServiceHandler* service, const http::MetricsSource* metrics);
  // Binds (SO_REUSEPORT when `shared`) and listens. Throws std::runtime_error naming the listener
  // and the reason (start-up only).
  void open(uv_loop_t* loop, bool shared);
  void close() { tcp_.close(); }
  // Options for the connections accepted from now on (the TLS context follows reloads):
  // handshake timeout, and idle timeout without an allocation (0 = never).
  void set_options(SSL_CTX* tls, uint64_t timeout_ms, uint64_t idle_timeout_ms) noexcept {
    options_.tls = options_.transport == Transport::kTls ? tls : nullptr;
    options_.timeout_ms = timeout_ms;
    options_.idle_timeout_ms = idle_timeout_ms;
  }
  [[nodiscard]] std::string name() const;

 private:
  StreamConnections& connections_;
  SocketAddress local_;
  StreamConnection::Options options_;
  std::vector<policy::Cidr> proxy_from_;      // options_.proxy_from points here
  std::unique_ptr<http::ListenerView> http_;  // null where HTTP is not served
  UvHandle<uv_tcp_t> tcp_;
};

}  // namespace turnpike::net
