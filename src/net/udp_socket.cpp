#include "turnpike/net/udp_socket.h"

#include <sys/socket.h>

#include "turnpike/net/socket_options.h"

namespace turnpike::net {

int UdpSocket::open(uv_loop_t* loop, bool shared) {
  // recvmmsg: one system call drains up to 20 datagrams under load.
  int error =
      udp_.init(&uv_udp_init_ex, loop, this, static_cast<unsigned>(AF_UNSPEC) | UV_UDP_RECVMMSG);
  if (error != 0) return error;
  if (shared) {  // a listener that every worker binds (SO_REUSEPORT)
    const int fd = bind_reuseport_socket(local_, SOCK_DGRAM);
    error = fd < 0 ? fd : uv_udp_open(udp_.get(), fd);
  } else {
    sockaddr_storage storage{};
    local_.to_sockaddr(storage);
    // IPv6 sockets are IPv6-only, so a separate IPv4 listener on the same port can coexist.
    const unsigned flags = local_.family() == Family::kIPv6 ? UV_UDP_IPV6ONLY : 0;
    error = uv_udp_bind(udp_.get(), reinterpret_cast<const sockaddr*>(&storage), flags);
  }
  if (error == 0) error = uv_udp_recv_start(udp_.get(), &on_alloc, &on_recv);
  if (error == 0) {
    uv_os_fd_t fd = -1;
    error = uv_fileno(udp_.handle(), &fd);
    fd_ = fd;
  }
  if (error != 0) close();
  return error;
}

void UdpSocket::close(std::function<void()> then) {
  if (udp_) uv_udp_recv_stop(udp_.get());
  fd_ = -1;
  udp_.close(std::move(then));
}

void UdpSocket::on_alloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  *buf = static_cast<UdpSocket*>(handle->data)->handler_.receive_buffer();
}

void UdpSocket::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                        unsigned /*flags*/) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  // nread == 0 with an address is an empty datagram (relayed like any other); without one it
  // means "nothing more to read", or (UV_UDP_MMSG_FREE) "that was the whole recvmmsg batch": what
  // the batch produced leaves now, in as few sendmmsg calls as it takes. Errors: UDP carries on.
  if (from == nullptr) {
    self->handler_.on_batch_end();
    return;
  }
  if (nread < 0) return;
  self->handler_.on_datagram(*self, reinterpret_cast<uint8_t*>(buf->base),
                             static_cast<size_t>(nread), from);
}

}  // namespace turnpike::net
