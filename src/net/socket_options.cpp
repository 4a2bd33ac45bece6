#include "turnpike/net/socket_options.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace turnpike::net {

int bind_reuseport_socket(const SocketAddress& address, int type) {
  const int domain = address.family() == Family::kIPv4 ? AF_INET : AF_INET6;
  const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int on = 1;
  int ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  if (ok == 0) ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  // IPv6 sockets are IPv6-only, so an IPv4 listener on the same port can coexist.
  if (ok == 0 && domain == AF_INET6)
    ok = ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  sockaddr_storage storage{};
  const unsigned length = address.to_sockaddr(storage);
  if (ok == 0) ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length);
  if (ok != 0) {
    const int error = -errno;
    ::close(fd);
    return error;
  }
  return fd;
}

}  // namespace turnpike::net

namespace turnpike::net {

int enlarge_udp_buffers(int fd, int bytes) noexcept {
  for (const auto& [force, plain] :
       {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, std::pair{SO_SNDBUFFORCE, SO_SNDBUF}}) {
    if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) != 0) {
      setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
    }
  }
  int actual = 0;
  socklen_t length = sizeof actual;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &actual, &length) != 0) return -1;
  return actual;
}

}  // namespace turnpike::net
