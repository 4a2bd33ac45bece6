#include "client_transport.h"

#include "turnpike/net/udp_send_batch.h"

#include <openssl/bio.h>

#include <cstring>
#include <utility>

namespace turnpike::cli {
namespace {

constexpr int kMaxTlsIterations = 4096;  // SSL_read calls per socket read (each drains a record)

std::string uv_text(const char* what, int rc) { return std::string(what) + ": " + uv_strerror(rc); }

}  // namespace

ClientTransport::ClientTransport(uv_loop_t* loop, Transport transport, SSL_CTX* ssl_ctx,
                                 TransportBuffers& buffers, Handler& handler)
    : loop_(loop), transport_(transport), ssl_ctx_(ssl_ctx), buffers_(buffers), handler_(handler) {
  std::memset(&tcp_, 0, sizeof tcp_);
}

uv_handle_t* ClientTransport::handle() noexcept {
  return transport_ == Transport::kUdp ? reinterpret_cast<uv_handle_t*>(&udp_)
                                       : reinterpret_cast<uv_handle_t*>(&tcp_);
}

namespace {
net::UdpSendBatch& udp_batch() {
  thread_local net::UdpSendBatch batch;
  return batch;
}
}  // namespace

void ClientTransport::flush_udp() { udp_batch().flush(); }
uint64_t ClientTransport::udp_send_errors() { return udp_batch().stats().errors; }

bool ClientTransport::start(const SocketAddress& server, const std::string& host,
                            std::string* error) {
  sockaddr_storage ss{};
  server.to_sockaddr(ss);
  const auto* addr = reinterpret_cast<const sockaddr*>(&ss);
  init_handle(server.family());
  if (transport_ == Transport::kUdp) return start_udp(server, addr, error);
  if (transport_ == Transport::kTls && !start_tls(host, error)) return false;
  return start_tcp(addr, error);
}

void ClientTransport::init_handle(Family family) {
  if (transport_ == Transport::kUdp) {
    // recvmmsg: under load the echoes of a socket come in batches of up to 20 per system call.
    const auto domain = static_cast<unsigned>(family == Family::kIPv6 ? AF_INET6 : AF_INET);
    uv_udp_init_ex(loop_, &udp_, domain | UV_UDP_RECVMMSG);
  } else {
    uv_tcp_init(loop_, &tcp_);
  }
  initialized_ = true;
  handle()->data = this;
}

bool ClientTransport::start_udp(const SocketAddress& server, const sockaddr* addr,
                                std::string* error) {
  int rc = uv_udp_connect(&udp_, addr);
  if (rc == 0) rc = uv_udp_recv_start(&udp_, on_alloc, on_udp_recv);
  if (rc != 0) {
    *error = uv_text("udp", rc);
    close();
    return false;
  }
  int size = 1 << 20;
  uv_recv_buffer_size(handle(), &size);
  size = 1 << 20;
  uv_send_buffer_size(handle(), &size);
  uv_os_fd_t fd = -1;
  uv_fileno(handle(), &fd);
  udp_fd_ = fd;
  server_ = server;
  connected_ = true;
  handler_.on_connected();
  return true;
}

bool ClientTransport::start_tls(const std::string& host, std::string* error) {
  ssl_ = make_client_ssl(ssl_ctx_, host, error);
  if (!ssl_) {
    close();
    return false;
  }
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    *error = "cannot create TLS memory BIOs";
    close();
    return false;
  }
  BIO_set_mem_eof_return(rbio_, -1);  // an empty read BIO means "want more", not EOF
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
  SSL_set_connect_state(ssl_.get());
  return true;
}

bool ClientTransport::start_tcp(const sockaddr* addr, std::string* error) {
  connect_req_.data = this;
  const int rc = uv_tcp_connect(&connect_req_, &tcp_, addr, on_tcp_connect);
  if (rc != 0) {
    *error = uv_text("connect", rc);
    close();
    return false;
  }
  return true;
}

void ClientTransport::on_tcp_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<ClientTransport*>(req->data);
  if (self->closing_) return;
  if (status < 0) return self->fail(uv_text("connect", status));
  uv_tcp_nodelay(&self->tcp_, 1);
  const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), on_alloc, on_tcp_read);
  if (rc != 0) return self->fail(uv_text("read", rc));
  if (self->transport_ == Transport::kTcp) {
    self->connected_ = true;
    self->handler_.on_connected();
    return;
  }
  // TLS: the ClientHello goes out now; the rest of the handshake is driven by the reads.
  const int hs = SSL_do_handshake(self->ssl_.get());
  if (hs <= 0 && SSL_get_error(self->ssl_.get(), hs) != SSL_ERROR_WANT_READ) {
    return self->fail("TLS handshake: " + handshake_error(self->ssl_.get()));
  }
  self->flush_tls();
}

void ClientTransport::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<ClientTransport*>(h->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->buffers_.rx.data()),
                     static_cast<unsigned>(self->buffers_.rx.size()));
}

void ClientTransport::on_udp_recv(uv_udp_t* udp, ssize_t n, const uv_buf_t* buf, const sockaddr*,
                                  unsigned flags) {
  auto* self = static_cast<ClientTransport*>(udp->data);
  if (self->closing_) return;
  if (n < 0) {
    if (n == UV_ECONNREFUSED) return self->fail("udp: connection refused (ICMP port unreachable)");
    return;  // other transient errors: the transactions time out if it persists
  }
  // n == 0 also ends each recvmmsg batch (UV_UDP_MMSG_FREE; the buffer is ours, nothing to free):
  // what the batch's echoes made us send leaves now.
  if (n == 0) {
    flush_udp();
    return;
  }
  if ((flags & UV_UDP_PARTIAL) != 0) return;
  self->handler_.on_frame(
      ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n)));
}

void ClientTransport::on_tcp_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<ClientTransport*>(s->data);
  if (self->closing_) return;
  if (n < 0) {
    return self->fail(n == UV_EOF ? std::string("connection closed by the server")
                                  : uv_text("read", static_cast<int>(n)));
  }
  if (n == 0) return;
  const ByteView bytes(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n));
  if (self->transport_ == Transport::kTls) {
    self->on_tls_bytes(bytes);
  } else {
    self->feed_framer(bytes);
  }
}

void ClientTransport::feed_framer(ByteView plain) {
  const bool ok = framer_.feed(plain, [this](ByteView frame) {
    if (!closing_) handler_.on_frame(frame);
  });
  if (!ok && !closing_) fail("the server sent bytes that are neither STUN nor ChannelData");
}

void ClientTransport::on_tls_bytes(ByteView bytes) {
  if (BIO_write(rbio_, bytes.data(), static_cast<int>(bytes.size())) !=
      static_cast<int>(bytes.size())) {
    return fail("TLS: cannot buffer received bytes");
  }
  if (!handshake_done_) {
    const int hs = SSL_do_handshake(ssl_.get());
    if (hs != 1) {
      const int e = SSL_get_error(ssl_.get(), hs);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        flush_tls();
        return;
      }
      return fail("TLS handshake: " + handshake_error(ssl_.get()));
    }
    handshake_done_ = true;
    connected_ = true;
    flush_tls();
    handler_.on_connected();
    if (closing_) return;
  }
  const int cap = static_cast<int>(buffers_.plain.size());
  for (int i = 0; i < kMaxTlsIterations && !closing_; ++i) {
    const int rc = SSL_read(ssl_.get(), buffers_.plain.data(), cap);
    if (rc > 0) {
      feed_framer(ByteView(buffers_.plain.data(), static_cast<size_t>(rc)));
      continue;
    }
    const int e = SSL_get_error(ssl_.get(), rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
    if (e == SSL_ERROR_ZERO_RETURN)
      return fail("connection closed by the server (TLS close_notify)");
    return fail("TLS read: " + openssl_error());
  }
  flush_tls();
}

void ClientTransport::flush_tls() {
  if (closing_ || wbio_ == nullptr) return;
  const size_t n = BIO_ctrl_pending(wbio_);
  if (n == 0) return;
  const size_t old = pending_.size();
  pending_.resize(old + n);
  const int got = BIO_read(wbio_, pending_.data() + old, static_cast<int>(n));
  pending_.resize(old + (got > 0 ? static_cast<size_t>(got) : 0));
  kick_write();
}

ClientTransport::SendResult ClientTransport::send(ByteView frame) {
  if (closing_ || !connected_) return SendResult::kFailed;
  if (transport_ == Transport::kUdp) {
    // Copied into the batch (the caller reuses its buffer); leaves with the next flush.
    udp_batch().queue(udp_fd_, server_, frame);
    return SendResult::kSent;
  }
  if (backlog() > kMaxBacklog) return SendResult::kBlocked;
  if (transport_ == Transport::kTls) {
    // Frames are gathered into one TLS record per flush() (or per kTlsRecordTarget bytes):
    // fewer records on the wire, and fewer of OpenSSL's per-record allocations.
    plain_.insert(plain_.end(), frame.begin(), frame.end());
    if (plain_.size() >= kTlsRecordTarget) flush();
    return closing_ ? SendResult::kFailed : SendResult::kSent;
  }
  pending_.insert(pending_.end(), frame.begin(), frame.end());
  kick_write();
  return SendResult::kSent;
}

void ClientTransport::flush() {
  if (transport_ != Transport::kTls || plain_.empty() || closing_ || !handshake_done_) return;
  const int rc = SSL_write(ssl_.get(), plain_.data(), static_cast<int>(plain_.size()));
  if (rc != static_cast<int>(plain_.size())) return fail("TLS write: " + openssl_error());
  plain_.clear();  // keeps its capacity
  flush_tls();
}

void ClientTransport::kick_write() {
  if (writing_ || closing_ || pending_.empty()) return;
  std::swap(pending_, inflight_);
  pending_.clear();
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(inflight_.data()),
                             static_cast<unsigned>(inflight_.size()));
  write_req_.data = this;
  const int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, on_write);
  if (rc != 0) return fail(uv_text("write", rc));
  writing_ = true;
}

void ClientTransport::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<ClientTransport*>(req->data);
  self->writing_ = false;
  self->inflight_.clear();
  if (self->closing_) return;
  if (status < 0) return self->fail(uv_text("write", status));
  self->kick_write();
}

void ClientTransport::fail(const std::string& what) {
  if (closing_) return;
  close();
  handler_.on_transport_error(what);
}

void ClientTransport::close() {
  if (closing_) return;
  // Queued frames name our descriptor, which uv_close releases at once: they leave first.
  if (transport_ == Transport::kUdp && udp_fd_ >= 0) flush_udp();
  closing_ = true;
  connected_ = false;
  if (!initialized_) {
    closed_ = true;
    return;
  }
  uv_close(handle(), on_close);
}

void ClientTransport::on_close(uv_handle_t* h) {
  static_cast<ClientTransport*>(h->data)->closed_ = true;
}

}  // namespace turnpike::cli
