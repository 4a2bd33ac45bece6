// turnpike peer --listen ADDR:PORT [...]: a UDP echo peer (like coturn's turnutils_peer). Every
// datagram is sent straight back to its source; packets are counted. Stops on SIGINT/SIGTERM or
// after --duration, then prints its counts (stdout; --json for one JSON object).
#include <uv.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "commands.h"
#include "net_util.h"
#include "turnpike/net/udp_send_batch.h"

namespace turnpike::cli {
namespace {

struct PeerOptions {
  std::vector<std::string> listen;
  double duration_s = 0;  // 0: until a signal
  bool json = false;
};

struct PeerCounts {
  uint64_t received = 0;
  uint64_t echoed = 0;
  uint64_t bytes = 0;
  uint64_t send_failed = 0;
};

constexpr size_t kMaxTrackedSources = 65536;

struct PeerState {
  uv_loop_t loop{};
  std::vector<std::unique_ptr<uv_udp_t>> sockets;
  uv_signal_t sigint{};
  uv_signal_t sigterm{};
  uv_timer_t timer{};
  // recvmmsg (UV_UDP_RECVMMSG): libuv cuts the buffer into 64 KiB slots, up to 20 datagrams per
  // system call.
  std::vector<uint8_t> buffer = std::vector<uint8_t>(20 * 65536);
  PeerCounts counts;
  // Echoes leave in batches (sendmmsg, UDP GSO for same-size runs to one relay), sent from the
  // receive buffer itself: flushed at the end of each recvmmsg batch and before the buffer is
  // read into again. A peer that costs a system call per echo would be the load test's limit.
  net::UdpSendBatch echoes;
  uint64_t echo_errors_seen = 0;
  std::unordered_set<SocketAddress> sources;
  bool stopping = false;
};

void flush_echoes(PeerState& s) {
  s.echoes.flush();
  // Echoes the kernel refused are failures; the rest were echoed.
  const uint64_t errors = s.echoes.stats().errors;
  s.counts.send_failed += errors - s.echo_errors_seen;
  s.echo_errors_seen = errors;
  s.counts.echoed = s.echoes.stats().datagrams;
}

void alloc_cb(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* s = static_cast<PeerState*>(handle->data);
  flush_echoes(*s);
  *buf = uv_buf_init(reinterpret_cast<char*>(s->buffer.data()),
                     static_cast<unsigned>(s->buffer.size()));
}

void recv_cb(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned) {
  auto* s = static_cast<PeerState*>(udp->data);
  // The end of a recvmmsg batch, "nothing more to read" (addr == nullptr): the echoes leave.
  if (addr == nullptr) {
    flush_echoes(*s);
    return;
  }
  if (nread < 0) return;  // errors (e.g. ICMP)
  ++s->counts.received;
  s->counts.bytes += static_cast<uint64_t>(nread);
  const auto a = SocketAddress::from_sockaddr(addr);
  if (!a) return;
  if (s->sources.size() < kMaxTrackedSources && !s->sources.contains(*a)) {
    s->sources.insert(*a);  // allocates for new sources only
  }
  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(udp), &fd);
  s->echoes.queue(
      fd, *a, ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)));
}

void stop_peer(PeerState& s) {
  if (s.stopping) return;
  s.stopping = true;
  flush_echoes(s);
  for (auto& u : s.sockets) uv_close(reinterpret_cast<uv_handle_t*>(u.get()), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.timer), nullptr);
}

void signal_cb(uv_signal_t* h, int) { stop_peer(*static_cast<PeerState*>(h->data)); }
void timer_cb(uv_timer_t* h) { stop_peer(*static_cast<PeerState*>(h->data)); }

void init_peer(PeerState& s) {
  uv_loop_init(&s.loop);
  s.echoes.set_borrowable(s.buffer.data(), s.buffer.data() + s.buffer.size());
  uv_signal_init(&s.loop, &s.sigint);
  uv_signal_init(&s.loop, &s.sigterm);
  uv_timer_init(&s.loop, &s.timer);
  s.sigint.data = s.sigterm.data = s.timer.data = &s;
}

// Closes every handle and runs the loop until they are closed.
void shut_down_peer(PeerState& s) {
  stop_peer(s);
  uv_run(&s.loop, UV_RUN_DEFAULT);
  uv_loop_close(&s.loop);
}

// Binds one --listen address and starts echoing on it, adding it to *bound. 0 when done, else
// the exit code (2 for a bad address, 1 when it cannot listen) with the error printed.
int listen_on(PeerState& s, const std::string& text, std::vector<std::string>* bound) {
  std::string error;
  const auto hp = parse_host_port(text, 0, &error);
  const auto addr = hp ? resolve(*hp, &error) : std::nullopt;
  if (!addr) {
    std::fprintf(stderr, "turnpike peer: --listen %s: %s\n", text.c_str(), error.c_str());
    return 2;
  }
  auto udp = std::make_unique<uv_udp_t>();
  const auto domain = static_cast<unsigned>(addr->family() == Family::kIPv6 ? AF_INET6 : AF_INET);
  uv_udp_init_ex(&s.loop, udp.get(), domain | UV_UDP_RECVMMSG);
  udp->data = &s;
  sockaddr_storage ss{};
  addr->to_sockaddr(ss);
  int rc = uv_udp_bind(udp.get(), reinterpret_cast<const sockaddr*>(&ss), 0);
  if (rc == 0) rc = uv_udp_recv_start(udp.get(), alloc_cb, recv_cb);
  if (rc != 0) {
    std::fprintf(stderr, "turnpike peer: cannot listen on %s: %s\n", text.c_str(), uv_strerror(rc));
    s.sockets.push_back(std::move(udp));  // closed with the others (once: a second uv_close aborts)
    shut_down_peer(s);
    return 1;
  }
  int size = 4 << 20;  // room for bursts from a load run
  uv_recv_buffer_size(reinterpret_cast<uv_handle_t*>(udp.get()), &size);
  size = 4 << 20;
  uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(udp.get()), &size);
  s.sockets.push_back(std::move(udp));
  bound->push_back(addr->to_string());
  return 0;
}

void print_counts(const PeerOptions& o, const PeerState& s, double elapsed) {
  const PeerCounts& c = s.counts;
  if (o.json) {
    const nlohmann::json j = {
        {"received", c.received},       {"echoed", c.echoed},          {"bytes", c.bytes},
        {"send_failed", c.send_failed}, {"sources", s.sources.size()}, {"elapsed_s", elapsed}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "turnpike peer: received %llu packets (%llu bytes) from %zu sources, echoed %llu, "
        "send failures %llu, in %.2f s\n",
        static_cast<unsigned long long>(c.received), static_cast<unsigned long long>(c.bytes),
        s.sources.size(), static_cast<unsigned long long>(c.echoed),
        static_cast<unsigned long long>(c.send_failed), elapsed);
  }
  std::fflush(stdout);
}

int run_peer(const PeerOptions& o) {
  auto s = std::make_unique<PeerState>();
  init_peer(*s);
  std::vector<std::string> bound;
  for (const std::string& text : o.listen) {
    if (const int rc = listen_on(*s, text, &bound); rc != 0) return rc;
  }
  uv_signal_start(&s->sigint, signal_cb, SIGINT);
  uv_signal_start(&s->sigterm, signal_cb, SIGTERM);
  if (o.duration_s > 0) {
    uv_timer_start(&s->timer, timer_cb, static_cast<uint64_t>(o.duration_s * 1000.0), 0);
  }
  for (const auto& b : bound) std::printf("turnpike peer: echoing on udp %s\n", b.c_str());
  std::fflush(stdout);
  const int64_t start = mono_ns();
  uv_run(&s->loop, UV_RUN_DEFAULT);  // ends once stop_peer closed every handle
  uv_loop_close(&s->loop);
  print_counts(o, *s, static_cast<double>(mono_ns() - start) / 1e9);
  return 0;
}

}  // namespace

Command add_peer_command(CLI::App& app) {
  auto o = std::make_shared<PeerOptions>();
  CLI::App* sub = app.add_subcommand("peer", "UDP echo peer (like turnutils_peer)");
  sub->add_option("--listen,-l", o->listen, "ADDR:PORT to echo on (repeatable)")->required();
  sub->add_option("--duration", o->duration_s, "stop after this many seconds (default: on signal)")
      ->check(CLI::Range(0.0, 31.0 * 86400));
  sub->add_flag("--json", o->json, "print the final counts as one JSON object");
  return {sub, [o] { return run_peer(*o); }};
}

}  // namespace turnpike::cli
