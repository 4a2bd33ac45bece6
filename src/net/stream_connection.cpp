#include "turnpike/net/stream_connection.h"

#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "turnpike/util/proxy_protocol.h"

namespace turnpike::net {
namespace {

StreamConnection* owner_of(void* data) { return static_cast<StreamConnection*>(data); }

struct WriteRequest {
  uv_write_t req{};
  StreamConnection* connection = nullptr;
  std::unique_ptr<char[]> data;
  size_t size = 0;
  bool charged = false;  // counted in the worker's HTTP write budget
};

// A PROXY header is believed only from the proxies the operator named (proxy_protocol_from).
bool trusted_proxy(const std::vector<policy::Cidr>* from, const IpAddress& source) {
  if (from == nullptr) return false;
  return std::any_of(from->begin(), from->end(),
                     [&source](const policy::Cidr& range) { return range.contains(source); });
}

}  // namespace

StreamConnection* StreamConnection::accept(StreamHost& host, uv_stream_t* listener,
                                           const SocketAddress& local, const Options& options,
                                           uint64_t id) {
  auto* c = new StreamConnection(host, id);
  if (c->tcp_.init(&uv_tcp_init, listener->loop, c) != 0) {
    delete c;
    return nullptr;
  }
  if (uv_accept(listener, c->tcp_.stream()) != 0) {
    c->close();
    return nullptr;
  }
  sockaddr_storage peer{};
  int len = sizeof peer;
  uv_tcp_getpeername(c->tcp_.get(), reinterpret_cast<sockaddr*>(&peer), &len);
  const auto client = SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&peer));
  if (!client) {
    c->close();
    return nullptr;
  }
  c->tuple_ = FiveTuple{*client, local, options.transport, id};
  // From a source that may not speak PROXY here, or over the connection limits: closed before
  // any timer, TLS state or read is set up.
  if (options.proxy_protocol && !trusted_proxy(options.proxy_from, client->ip)) {
    host.on_event(*c, StreamEvent::kUntrustedProxy);
    c->reset();
    return nullptr;
  }
  if (!host.admit(*c, !options.proxy_protocol)) {
    c->reset();
    return nullptr;
  }
  c->configure(options);
  uv_tcp_nodelay(c->tcp_.get(), 1);
  c->timer_.init(&uv_timer_init, listener->loop, c);
  c->restart_timer(options.timeout_ms);
  if (options.tls != nullptr && !c->start_tls(options.tls)) {
    c->close();
    return nullptr;
  }
  const int started = uv_read_start(
      c->tcp_.stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) { *buf = owner_of(h->data)->host_.read_buffer(); },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        owner_of(s->data)->on_read(nread, buf);
      });
  if (started != 0) {
    c->close();
    return nullptr;
  }
  return c;
}

void StreamConnection::configure(const Options& options) {
  timeout_ms_ = options.timeout_ms;
  idle_timeout_ms_ = options.idle_timeout_ms;
  http_handler_ = options.http;
  if (options.http_only) mode_ = Mode::kHttp;
  awaiting_proxy_header_ = options.proxy_protocol;
  if (options.http == nullptr) mode_ = Mode::kTurn;
}

// TLS over memory BIOs: ciphertext in from the socket, out to it; the handshake runs as bytes
// arrive.
bool StreamConnection::start_tls(SSL_CTX* tls) {
  ssl_ = SSL_new(tls);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    return false;
  }
  SSL_set_bio(ssl_, rbio_, wbio_);  // the SSL owns both BIOs now
  SSL_set_accept_state(ssl_);
  return true;
}

void StreamConnection::restart_timer(uint64_t ms) {
  if (!timer_) return;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { owner_of(t->data)->on_timeout(); }, ms, 0);
}

// A TURN connection is worth keeping only while it holds an allocation (RFC 8656 §3.1 ties the
// allocation to it); without one it is closed after the idle timeout, whatever it sends
// meanwhile (Binding requests and failed Allocates do not keep it).
void StreamConnection::arm_idle_timer() {
  if (allocations_ > 0 || idle_timeout_ms_ == 0) {
    if (timer_) uv_timer_stop(timer_.get());
    return;
  }
  restart_timer(idle_timeout_ms_);
}

void StreamConnection::on_allocation_created() {
  ++allocations_;
  arm_idle_timer();
}

void StreamConnection::on_allocation_deleted() {
  if (allocations_ > 0) --allocations_;
  if (!closing_ && got_frame_) arm_idle_timer();
}

// A session that completed its handshake stays resumable from the server-side cache (session
// tickets are off): OpenSSL drops the cached session of an SSL freed without a sent close_notify,
// so the shutdown is marked done. Fatal TLS errors removed the session already.
StreamConnection::~StreamConnection() {
  if (ssl_ == nullptr) return;
  if (handshake_done_) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
}

void StreamConnection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {  // EOF or reset: the allocation goes with the connection
    close();
    return;
  }
  ByteView bytes(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  if (awaiting_proxy_header_ && !take_proxy_header(bytes)) return;
  if (!bytes.empty()) process(bytes);
}

void StreamConnection::process(ByteView bytes) {
  if (ssl_ != nullptr) {
    feed_tls(bytes);
  } else {
    deliver(bytes);
  }
}

// PROXY v1/v2: the real client address, sent by the proxy in front of us before anything else. The
// 5-tuple (and so rate limits, nonces and logs) use it from here on.
bool StreamConnection::take_proxy_header(ByteView& bytes) {
  const size_t room = kProxyV2MaxHeader - proxy_buffer_.size();  // v2's bound is the larger
  const size_t take = std::min(room, bytes.size());
  proxy_buffer_.insert(proxy_buffer_.end(), bytes.begin(),
                       bytes.begin() + static_cast<std::ptrdiff_t>(take));
  ProxyHeader header;
  switch (parse_proxy(proxy_buffer_, header)) {
    case ProxyParse::kNeedMore:
      if (take < bytes.size()) break;  // more than a header's worth and still incomplete
      bytes = {};
      return true;
    case ProxyParse::kDone: {
      awaiting_proxy_header_ = false;
      if (header.source) tuple_.client = *header.source;
      if (!host_.admit_proxied_source(*this)) {  // the real source is over its limit
        close();
        return false;
      }
      // Bytes after the header: those of this read that were not part of it.
      const size_t used_from_this_read = header.length - (proxy_buffer_.size() - take);
      bytes = bytes.subspan(used_from_this_read);
      proxy_buffer_.clear();
      proxy_buffer_.shrink_to_fit();
      return true;
    }
    case ProxyParse::kInvalid:
      break;
  }
  host_.on_event(*this, StreamEvent::kGarbage);
  close();
  return false;
}

// On a listener that serves both, the first bytes decide: ALPN when the client sent it (RFC 7443
// "stun.turn" or "http/1.1"), else the first byte. A TURN client always starts with a STUN
// request (first byte 0x00-0x3F); an HTTP request starts with an upper-case method name.
void StreamConnection::decide_mode(ByteView first_bytes) {
  if (ssl_ != nullptr) {
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    const std::string_view protocol(reinterpret_cast<const char*>(alpn), alpn_len);
    if (protocol == "http/1.1") {
      mode_ = Mode::kHttp;
      return;
    }
    if (protocol == "stun.turn") {
      mode_ = Mode::kTurn;
      return;
    }
  }
  const uint8_t first = first_bytes.empty() ? 0 : first_bytes[0];
  mode_ = (first >= 'A' && first <= 'Z') ? Mode::kHttp : Mode::kTurn;
}

void StreamConnection::deliver_http(ByteView plaintext) {
  if (!http_) http_ = std::make_unique<http::HttpSession>(*http_handler_, tuple_.client);
  std::string out;
  const bool keep_open = http_->feed(plaintext, host_.now(), out);
  // Every request restarts the idle timer: a keep-alive connection may idle this long.
  restart_timer(timeout_ms_);
  if (!out.empty()) send_now(as_bytes(out));
  if (!keep_open && !closing_) {
    if (ssl_ != nullptr) {
      (void)SSL_shutdown(ssl_);  // close_notify
      flush_tls();
    }
    if (queued_ == 0) {
      close();
    } else {
      close_when_drained_ = true;
    }
  }
}

void StreamConnection::deliver(ByteView plaintext) {
  if (plaintext.empty()) return;
  if (mode_ == Mode::kUndecided) decide_mode(plaintext);
  if (mode_ == Mode::kHttp) {
    got_frame_ = true;
    deliver_http(plaintext);
    return;
  }
  const bool ok = framer_.feed(plaintext, [this](ByteView frame) {
    if (closing_) return;
    if (!got_frame_) {
      got_frame_ = true;
      arm_idle_timer();  // the handshake timeout is over; the idle timeout starts
    }
    host_.on_frame(*this, frame);
  });
  if (!ok) {
    host_.on_event(*this, StreamEvent::kGarbage);
    close();  // not STUN/ChannelData: nothing sensible can follow on this stream
  }
}

void StreamConnection::feed_tls(ByteView ciphertext) {
  while (!ciphertext.empty() && !closing_) {
    const int written = BIO_write(rbio_, ciphertext.data(), static_cast<int>(ciphertext.size()));
    if (written <= 0) {
      close();
      return;
    }
    ciphertext = ciphertext.subspan(static_cast<size_t>(written));
    for (;;) {  // drain every record OpenSSL can decrypt so far
      uint8_t* out = host_.tls_plaintext_buffer();
      const int n = SSL_read(ssl_, out, static_cast<int>(StreamHost::kTlsPlaintextSize));
      if (n > 0) {
        deliver(ByteView(out, static_cast<size_t>(n)));
        if (closing_) return;
        continue;
      }
      const int error = SSL_get_error(ssl_, n);
      flush_tls();  // handshake messages, alerts
      if (!handshake_done_ && SSL_is_init_finished(ssl_)) {
        handshake_done_ = true;
        host_.on_event(*this, StreamEvent::kTlsHandshake);
      }
      if (error == SSL_ERROR_WANT_READ) break;
      if (error != SSL_ERROR_ZERO_RETURN) {
        host_.on_event(*this, StreamEvent::kTlsFailure, ERR_reason_error_string(ERR_peek_error()));
      }
      ERR_clear_error();
      close();
      return;
    }
  }
}

void StreamConnection::flush_tls() {
  char* pending = nullptr;
  const long size = BIO_get_mem_data(wbio_, &pending);
  if (size <= 0) return;
  write_raw(ByteView(reinterpret_cast<const uint8_t*>(pending), static_cast<size_t>(size)));
  (void)BIO_reset(wbio_);
}

void StreamConnection::send(ByteView bytes) {
  if (closing_) return;
  if (queued_ + pending_.size() + bytes.size() > kMaxQueuedBytes) {
    host_.on_event(*this, StreamEvent::kDrop);
    return;
  }
  if (ssl_ != nullptr && !SSL_is_init_finished(ssl_)) return;  // nothing before the handshake
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (pending_.size() >= kCoalesceBytes) {
    flush_pending();
  } else if (!flush_scheduled_) {
    flush_scheduled_ = true;
    host_.schedule_flush(*this);
  }
}

void StreamConnection::flush_pending() {
  if (pending_.empty() || closing_) {
    pending_.clear();
    return;
  }
  if (ssl_ == nullptr) {
    write_raw(pending_);
  } else {
    // One SSL_write: OpenSSL cuts records of at most 16 KiB; one flush of the memory BIO.
    const int n = SSL_write(ssl_, pending_.data(), static_cast<int>(pending_.size()));
    if (n <= 0) {
      ERR_clear_error();
      pending_.clear();
      close();
      return;
    }
    flush_tls();
  }
  pending_.clear();
  if (pending_.capacity() > 4 * kCoalesceBytes) pending_.shrink_to_fit();  // after a burst
}

void StreamConnection::send_now(ByteView bytes) {
  if (closing_) return;
  flush_pending();  // keep order with anything coalesced before
  if (closing_) return;
  if (queued_ + bytes.size() > kMaxQueuedBytes) {
    host_.on_event(*this, StreamEvent::kDrop);
    return;
  }
  if (ssl_ == nullptr) {
    write_raw(bytes);
    return;
  }
  if (!SSL_is_init_finished(ssl_)) return;  // nothing can be sent before the handshake ends
  const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
  if (n <= 0) {
    ERR_clear_error();
    close();
    return;
  }
  flush_tls();
}

void StreamConnection::write_raw(ByteView bytes) {
  uv_stream_t* stream = tcp_.stream();
  size_t offset = 0;
  if (queued_ == 0) {  // nothing queued: try the kernel directly, no copy
    uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                               static_cast<unsigned>(bytes.size()));
    const int n = uv_try_write(stream, &buf, 1);
    if (n == static_cast<int>(bytes.size())) return;
    if (n < 0 && n != UV_EAGAIN) {
      close();
      return;
    }
    if (n > 0) offset = static_cast<size_t>(n);
  }
  // The rest waits in libuv's queue, in a copy (the caller's buffer is reused right away). HTTP
  // output there counts against the worker's budget: over it, the connection is closed.
  const bool charged = mode_ == Mode::kHttp;
  if (charged && !host_.charge_http_queue(bytes.size() - offset)) {
    host_.on_event(*this, StreamEvent::kHttpQueueFull);
    close();
    return;
  }
  auto* w = new WriteRequest;
  w->connection = this;
  w->charged = charged;
  w->size = bytes.size() - offset;
  w->data = std::make_unique<char[]>(w->size);
  std::memcpy(w->data.get(), bytes.data() + offset, w->size);
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->data.get(), static_cast<unsigned>(w->size));
  queued_ += w->size;
  const int r = uv_write(&w->req, stream, &buf, 1, [](uv_write_t* req, int) {
    auto* done = static_cast<WriteRequest*>(req->data);
    done->connection->on_write_done(done->size, done->charged);
    delete done;
  });
  if (r != 0) {
    queued_ -= w->size;
    if (w->charged) host_.release_http_queue(w->size);
    delete w;
    close();
  }
}

void StreamConnection::on_write_done(size_t bytes, bool charged) {
  queued_ -= bytes;
  if (charged) host_.release_http_queue(bytes);
  if (close_when_drained_ && queued_ == 0) close();
}

void StreamConnection::on_timeout() {
  const bool idle = mode_ == Mode::kTurn && got_frame_;  // else: handshake, or HTTP keep-alive
  host_.on_event(*this, idle ? StreamEvent::kIdle : StreamEvent::kTimeout);
  close();
}

void StreamConnection::close() {
  if (closing_) return;
  closing_ = true;
  host_.on_closed(*this);
  finish_close(false);
}

// SO_LINGER 0: the kernel answers with RST and forgets the socket (no TIME_WAIT here). For a
// connection over the limits: no FIN/TIME_WAIT dance.
void StreamConnection::reset() {
  if (closing_) return;
  closing_ = true;
  host_.on_closed(*this);
  finish_close(true);
}

// Pending writes are cancelled by uv_close and their callbacks run before the socket's close
// callback, so no WriteRequest outlives the connection: it frees itself in that callback.
void StreamConnection::finish_close(bool with_reset) {
  timer_.close();
  if (!tcp_) {
    delete this;
    return;
  }
  auto free_connection = [this] { delete this; };
  if (with_reset) {
    tcp_.close_with(&uv_tcp_close_reset, free_connection);
  } else {
    tcp_.close(free_connection);
  }
}

}  // namespace turnpike::net
