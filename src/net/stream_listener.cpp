#include "turnpike/net/stream_listener.h"

#include <sys/socket.h>

#include <stdexcept>

#include "turnpike/net/socket_options.h"

namespace turnpike::net {

StreamListener::StreamListener(StreamConnections& connections, const config::Listener& listener,
                               http::ServiceHandler* service, const http::MetricsSource* metrics)
    : connections_(connections), local_(listener.address) {
  const std::string what =
      std::string(transport_name(listener.transport)) + " " + listener.address.to_string();
  options_.transport = listener.transport;
  options_.http_only = listener.http_only;
  options_.proxy_protocol = listener.proxy_protocol;
  for (const std::string& text : listener.proxy_protocol_from) {
    const auto range = policy::Cidr::parse(text);
    if (!range) throw std::runtime_error("listener " + what + ": bad proxy_protocol_from " + text);
    proxy_from_.push_back(*range);
  }
  options_.proxy_from = &proxy_from_;
  if (service != nullptr && (listener.http_only || listener.transport == Transport::kTls)) {
    http_ = std::make_unique<http::ListenerView>(*service, listener.metrics, metrics);
  } else if (listener.http_only) {
    throw std::runtime_error("listener " + what + ": HTTP is not configured");
  }
  options_.http = http_.get();
}

std::string StreamListener::name() const {
  std::string kind = transport_name(options_.transport);
  if (options_.http_only) kind = options_.transport == Transport::kTls ? "https" : "http";
  return kind + " " + local_.to_string();
}

void StreamListener::open(uv_loop_t* loop, bool shared) {
  const std::string what =
      std::string(transport_name(options_.transport)) + " " + local_.to_string();
  int error = tcp_.init(&uv_tcp_init, loop, this);
  if (error == 0 && shared) {
    const int fd = bind_reuseport_socket(local_, SOCK_STREAM);
    error = fd < 0 ? fd : uv_tcp_open(tcp_.get(), fd);
  } else if (error == 0) {
    sockaddr_storage storage{};
    local_.to_sockaddr(storage);
    const unsigned flags = local_.family() == Family::kIPv6 ? UV_TCP_IPV6ONLY : 0;
    error = uv_tcp_bind(tcp_.get(), reinterpret_cast<const sockaddr*>(&storage), flags);
  }
  if (error == 0) {
    error = uv_listen(tcp_.stream(), kBacklog, [](uv_stream_t* server, int status) {
      auto* self = static_cast<StreamListener*>(server->data);
      if (status == 0) self->connections_.accept(server, self->local_, self->options_);
    });
  }
  if (error != 0) {
    std::string hint;
    if (error == UV_EACCES && local_.port < 1024) {
      hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
    }
    throw std::runtime_error("cannot listen on " + what + ": " + uv_strerror(error) + hint);
  }
}

}  // namespace turnpike::net
