#include "blocking_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net_util.h"

namespace turnpike::cli {
namespace {

constexpr int kMaxIterations = 100000;  // hard cap on any wait/retry loop below

int ms_left(int64_t deadline_ns) {
  const int64_t left = (deadline_ns - mono_ns()) / 1'000'000;
  if (left <= 0) return 0;
  return left > 60'000 ? 60'000 : static_cast<int>(left);
}

int64_t deadline_after(int timeout_ms) { return mono_ns() + int64_t{timeout_ms} * 1'000'000; }

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::unique_ptr<BlockingConnection> BlockingConnection::open(Transport transport,
                                                             const SocketAddress& server,
                                                             const std::string& host, SSL_CTX* ctx,
                                                             int timeout_ms, std::string* error) {
  const int family = server.family() == Family::kIPv4 ? AF_INET : AF_INET6;
  const int type = transport == Transport::kUdp ? SOCK_DGRAM : SOCK_STREAM;
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = errno_text("socket");
    return nullptr;
  }
  std::unique_ptr<BlockingConnection> c(new BlockingConnection(transport, fd));
  const int64_t deadline = deadline_after(timeout_ms);
  if (!c->connect_socket(server, deadline, error)) return nullptr;
  if (transport == Transport::kTls && !c->handshake(ctx, host, deadline, error)) return nullptr;
  return c;
}

BlockingConnection::~BlockingConnection() {
  if (ssl_) SSL_shutdown(ssl_.get());  // best effort close_notify; the socket is non-blocking
  if (fd_ >= 0) ::close(fd_);
}

bool BlockingConnection::wait(short events, int64_t deadline_ns) const {
  for (int i = 0; i < kMaxIterations; ++i) {
    pollfd p{fd_, events, 0};
    const int rc = ::poll(&p, 1, ms_left(deadline_ns));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
  return false;
}

bool BlockingConnection::connect_socket(const SocketAddress& server, int64_t deadline_ns,
                                        std::string* error) {
  sockaddr_storage ss{};
  const unsigned len = server.to_sockaddr(ss);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&ss), len) == 0) return true;
  if (errno != EINPROGRESS) {
    *error = errno_text("connect");
    return false;
  }
  if (!wait(POLLOUT, deadline_ns)) {
    *error = "connect: timed out";
    return false;
  }
  int so_error = 0;
  socklen_t so_len = sizeof so_error;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &so_len);
  if (so_error != 0) {
    *error = std::string("connect: ") + std::strerror(so_error);
    return false;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

bool BlockingConnection::handshake(SSL_CTX* ctx, const std::string& host, int64_t deadline_ns,
                                   std::string* error) {
  ssl_ = make_client_ssl(ctx, host, error);
  if (!ssl_) return false;
  SSL_set_fd(ssl_.get(), fd_);
  for (int i = 0; i < kMaxIterations; ++i) {
    const int rc = SSL_connect(ssl_.get());
    if (rc == 1) return true;
    const int e = SSL_get_error(ssl_.get(), rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_ns)) {
        *error = "TLS handshake: timed out";
        return false;
      }
      continue;
    }
    *error = "TLS handshake: " + handshake_error(ssl_.get());
    return false;
  }
  *error = "TLS handshake: too many iterations";
  return false;
}

bool BlockingConnection::write_all(ByteView data, int timeout_ms, std::string* error) {
  const int64_t deadline = deadline_after(timeout_ms);
  size_t done = 0;
  for (int i = 0; i < kMaxIterations && done < data.size(); ++i) {
    const ByteView rest = data.subspan(done);
    if (ssl_) {
      const int rc = SSL_write(ssl_.get(), rest.data(),
                               static_cast<int>(rest.size() > 1 << 20 ? 1 << 20 : rest.size()));
      if (rc > 0) {
        done += static_cast<size_t>(rc);
        continue;
      }
      const int e = SSL_get_error(ssl_.get(), rc);
      if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
          wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        continue;
      }
      *error = "TLS write: " + openssl_error();
      return false;
    }
    const ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      if (transport_ == Transport::kUdp) return true;  // a datagram goes whole or not at all
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLOUT, deadline)) continue;
    *error = errno_text("send");
    return false;
  }
  if (done < data.size()) {
    *error = "send: timed out";
    return false;
  }
  return true;
}

long BlockingConnection::read_some(MutableByteView buffer, int timeout_ms, std::string* error) {
  const int64_t deadline = deadline_after(timeout_ms);
  const int cap = static_cast<int>(buffer.size() > 1 << 20 ? 1 << 20 : buffer.size());
  for (int i = 0; i < kMaxIterations; ++i) {
    if (ssl_) {
      const int rc = SSL_read(ssl_.get(), buffer.data(), cap);
      if (rc > 0) return rc;
      const int e = SSL_get_error(ssl_.get(), rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return 0;
        continue;
      }
      *error = e == SSL_ERROR_ZERO_RETURN ? std::string("connection closed by the server (TLS)")
                                          : "TLS read: " + openssl_error();
      return -1;
    }
    if (!wait(POLLIN, deadline)) return 0;
    const ssize_t n = ::recv(fd_, buffer.data(), static_cast<size_t>(cap), 0);
    if (n > 0 || (n == 0 && transport_ == Transport::kUdp)) return static_cast<long>(n);
    if (n == 0) {
      *error = "connection closed by the server";
      return -1;
    }
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    *error = errno == ECONNREFUSED ? std::string("connection refused (nothing listens there?)")
                                   : errno_text("recv");
    return -1;
  }
  return 0;
}

BlockingConnection::Recv BlockingConnection::read_frame(std::vector<uint8_t>& out, int timeout_ms,
                                                        std::string* error) {
  const int64_t deadline = deadline_after(timeout_ms);
  rx_.resize(65536);
  for (int i = 0; i < kMaxIterations; ++i) {
    if (!frames_.empty()) {
      out = std::move(frames_.front());
      frames_.pop_front();
      return Recv::kFrame;
    }
    const int left = ms_left(deadline);
    if (left <= 0) return Recv::kTimeout;
    const long n = read_some(rx_, left, error);
    if (n < 0) return Recv::kError;
    if (n == 0 && transport_ != Transport::kUdp) return Recv::kTimeout;
    const ByteView got(rx_.data(), static_cast<size_t>(n));
    if (transport_ == Transport::kUdp) {
      if (n == 0 && ms_left(deadline) <= 0) return Recv::kTimeout;
      out.assign(got.begin(), got.end());
      return Recv::kFrame;
    }
    const bool ok = framer_.feed(got, [this](ByteView frame) {
      if (frames_.size() < 1024) frames_.emplace_back(frame.begin(), frame.end());
    });
    if (!ok) {
      *error = "the server sent bytes that are neither STUN nor ChannelData";
      return Recv::kError;
    }
  }
  return Recv::kTimeout;
}

SocketAddress BlockingConnection::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss))
      .value_or(SocketAddress{});
}

}  // namespace turnpike::cli
