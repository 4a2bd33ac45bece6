// raw_forwarder: the "raw limit" of a relay, for scripts/bench.sh. It does the least work a TURN
// relay must do on the ChannelData path and nothing else (no STUN, no authentication, no
// permissions, no timers):
//
//   client --[ChannelData: channel u16, length u16, payload]--> listen socket
//          strip the 4-byte header, send the payload from the client's relay socket --> peer
//   peer --[payload]--> relay socket
//          prepend the header in place (receive headroom), send from the listen socket --> client
//
// One relay socket per client address (created on first sight, kept in a hash map, connected to
// the one fixed peer). Plain Linux sockets: one epoll loop, recvmmsg/sendmmsg in batches of up to
// 64 datagrams. Like turnpiked's UDP listeners, the listening socket asks for 4 MiB buffers
// (relay sockets keep the kernel defaults).
//
//   raw_forwarder --listen ADDR:PORT --peer ADDR:PORT [--relay-address ADDR] [--seconds N]
//                 [--max-clients N] [--json]
//
// Runs until --seconds (default 60) or SIGTERM/SIGINT, then prints what it forwarded each way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr unsigned kBatch = 64;         // datagrams per recvmmsg/sendmmsg
constexpr size_t kHeader = 4;           // ChannelData header: channel, length
constexpr size_t kMaxDatagram = 65535;  // largest UDP payload we accept
constexpr size_t kSlot = kHeader + kMaxDatagram;
constexpr int kReadsPerEvent = 4;  // recvmmsg calls per readiness event (fairness)
constexpr int kMaxEvents = 256;
constexpr int kListenBuffer = 4 << 20;    // as turnpiked's UDP listeners (net::enlarge_udp_buffers)
constexpr uint16_t kMinChannel = 0x4000;  // RFC 8656 §12 (and RFC 5766's 0x4000-0x7FFF)
constexpr uint16_t kMaxChannel = 0x7FFF;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
  std::string listen;
  std::string peer;
  std::string relay_address;  // default: the listen address
  double seconds = 60;
  size_t max_clients = 20000;
  bool json = false;
};

struct Counters {
  uint64_t to_peer = 0;  // client -> peer datagrams sent
  uint64_t to_peer_bytes = 0;
  uint64_t to_client = 0;  // peer -> client datagrams sent
  uint64_t to_client_bytes = 0;
  uint64_t malformed = 0;     // not a ChannelData frame
  uint64_t send_dropped = 0;  // sendmmsg did not take them (full socket buffer, error)
  uint64_t refused = 0;       // no relay socket for a new client (limit or socket error)
};

// A socket address usable as a hash key (IPv4 or IPv6, port included).
struct AddrKey {
  std::array<uint8_t, 18> bytes{};
  uint8_t size = 0;
  bool operator==(const AddrKey& o) const noexcept {
    return size == o.size && std::memcmp(bytes.data(), o.bytes.data(), size) == 0;
  }
};
struct AddrKeyHash {
  size_t operator()(const AddrKey& k) const noexcept {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (size_t i = 0; i < k.size; ++i) h = (h ^ k.bytes[i]) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

std::optional<AddrKey> key_of(const sockaddr_storage& ss) {
  AddrKey k;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(k.bytes.data(), &a->sin_addr, 4);
    std::memcpy(k.bytes.data() + 4, &a->sin_port, 2);
    k.size = 6;
    return k;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(k.bytes.data(), &a->sin6_addr, 16);
    std::memcpy(k.bytes.data() + 16, &a->sin6_port, 2);
    k.size = 18;
    return k;
  }
  return std::nullopt;
}

// "1.2.3.4:5", "[::1]:5". Port 0 allowed only when allow_zero.
bool parse_address(std::string_view text, bool need_port, sockaddr_storage& out,
                   socklen_t& out_len) {
  std::string host(text);
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = std::string(text.substr(close + 2));
    }
  } else if (const size_t colon = text.rfind(':');
             colon != std::string_view::npos && text.find(':') == colon) {
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
  }
  if (need_port && port.empty()) return false;
  long port_value = 0;
  if (!port.empty()) {
    char* end = nullptr;
    port_value = std::strtol(port.c_str(), &end, 10);
    if (end == port.c_str() || *end != '\0' || port_value < 0 || port_value > 65535) return false;
  }
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port_value));
    out_len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port_value));
    out_len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

struct Relay {
  int fd = -1;
  sockaddr_storage client{};
  socklen_t client_len = 0;
  uint16_t channel = kMinChannel;  // the client's channel number, echoed back in the header
};

class Forwarder {
 public:
  Forwarder(const sockaddr_storage& peer, socklen_t peer_len, const sockaddr_storage& relay_addr,
            socklen_t relay_len, size_t max_clients)
      : peer_(peer),
        peer_len_(peer_len),
        relay_addr_(relay_addr),
        relay_len_(relay_len),
        max_clients_(max_clients),
        buffers_(kBatch * kSlot) {}
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;
  ~Forwarder() {
    for (auto& [key, relay] : clients_) ::close(relay->fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  bool open(const sockaddr_storage& listen, socklen_t listen_len, std::string* error) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return fail("epoll_create1", error);
    listen_fd_ = socket(listen.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return fail("socket", error);
    if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&listen), listen_len) != 0) {
      return fail("bind", error);
    }
    for (const auto& [force, plain] :
         {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, std::pair{SO_SNDBUFFORCE, SO_SNDBUF}}) {
      const int bytes = kListenBuffer;  // FORCE needs CAP_NET_ADMIN; else capped by the sysctl
      if (setsockopt(listen_fd_, SOL_SOCKET, force, &bytes, sizeof bytes) != 0) {
        setsockopt(listen_fd_, SOL_SOCKET, plain, &bytes, sizeof bytes);
      }
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the listening socket
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) return fail("epoll_ctl", error);
    return true;
  }

  // Runs until the deadline or a signal.
  void run(std::chrono::steady_clock::time_point deadline) {
    std::array<epoll_event, kMaxEvents> events{};
    while (g_stop == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) break;
      const int n = epoll_wait(epoll_fd_, events.data(), kMaxEvents,
                               static_cast<int>(std::min<long long>(left, 100)));
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("raw_forwarder: epoll_wait");
        break;
      }
      for (int i = 0; i < n; ++i) {
        auto* relay = static_cast<Relay*>(events[static_cast<size_t>(i)].data.ptr);
        if (relay == nullptr) {
          from_clients();
        } else {
          from_peer(*relay);
        }
      }
    }
  }

  [[nodiscard]] const Counters& counters() const noexcept { return counters_; }
  [[nodiscard]] size_t clients() const noexcept { return clients_.size(); }

 private:
  static bool fail(const char* what, std::string* error) {
    *error = std::string(what) + ": " + std::strerror(errno);
    return false;
  }

  uint8_t* slot(size_t i) noexcept { return buffers_.data() + i * kSlot; }

  Relay* relay_for(const sockaddr_storage& from, socklen_t from_len) {
    const auto key = key_of(from);
    if (!key) return nullptr;
    if (auto it = clients_.find(*key); it != clients_.end()) return it->second.get();
    if (clients_.size() >= max_clients_) return nullptr;
    const int fd = socket(relay_addr_.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    if (bind(fd, reinterpret_cast<const sockaddr*>(&relay_addr_), relay_len_) != 0 ||
        connect(fd, reinterpret_cast<const sockaddr*>(&peer_), peer_len_) != 0) {
      ::close(fd);
      return nullptr;
    }
    auto relay = std::make_unique<Relay>();
    relay->fd = fd;
    relay->client = from;
    relay->client_len = from_len;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = relay.get();
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      return nullptr;
    }
    return clients_.emplace(*key, std::move(relay)).first->second.get();
  }

  // Client -> peer: strip the header, send the payload from the client's relay socket.
  void from_clients() {
    for (int round = 0; round < kReadsPerEvent; ++round) {
      for (size_t i = 0; i < kBatch; ++i) {
        iov_[i] = {slot(i), kSlot};
        msgs_[i] = {};
        msgs_[i].msg_hdr.msg_name = &names_[i];
        msgs_[i].msg_hdr.msg_namelen = sizeof names_[i];
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
      }
      const int got = recvmmsg(listen_fd_, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) return;
      const auto count = static_cast<size_t>(got);
      size_t kept = 0;
      for (size_t i = 0; i < count; ++i) {
        const uint8_t* p = slot(i);
        const size_t n = msgs_[i].msg_len;
        const auto channel = static_cast<uint16_t>((p[0] << 8) | p[1]);
        const auto length = static_cast<size_t>((p[2] << 8) | p[3]);
        if (n < kHeader || channel < kMinChannel || channel > kMaxChannel || length > n - kHeader) {
          ++counters_.malformed;
          continue;
        }
        Relay* relay = relay_for(names_[i], msgs_[i].msg_hdr.msg_namelen);
        if (relay == nullptr) {
          ++counters_.refused;
          continue;
        }
        relay->channel = channel;
        targets_[kept] = relay;
        out_iov_[kept] = {slot(i) + kHeader, length};
        order_[kept] = kept;
        ++kept;
      }
      // Group the batch by relay socket (stable: per-client order is kept), one sendmmsg each.
      std::stable_sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(kept),
                       [this](size_t a, size_t b) { return targets_[a] < targets_[b]; });
      for (size_t start = 0; start < kept;) {
        Relay* relay = targets_[order_[start]];
        size_t end = start;
        while (end < kept && targets_[order_[end]] == relay) {
          const size_t j = end - start;
          out_[j] = {};
          out_[j].msg_hdr.msg_iov = &out_iov_[order_[end]];
          out_[j].msg_hdr.msg_iovlen = 1;
          ++end;
        }
        send_batch(relay->fd, end - start, counters_.to_peer, counters_.to_peer_bytes);
        start = end;
      }
      if (count < kBatch) return;
    }
  }

  // Peer -> client: receive after 4 bytes of headroom, write the header there, send from the
  // listening socket to the client.
  void from_peer(Relay& relay) {
    for (int round = 0; round < kReadsPerEvent; ++round) {
      for (size_t i = 0; i < kBatch; ++i) {
        iov_[i] = {slot(i) + kHeader, kSlot - kHeader};
        msgs_[i] = {};
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
      }
      const int got = recvmmsg(relay.fd, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) return;
      const auto count = static_cast<size_t>(got);
      for (size_t i = 0; i < count; ++i) {
        const size_t n = msgs_[i].msg_len;
        uint8_t* p = slot(i);
        p[0] = static_cast<uint8_t>(relay.channel >> 8);
        p[1] = static_cast<uint8_t>(relay.channel);
        p[2] = static_cast<uint8_t>(n >> 8);
        p[3] = static_cast<uint8_t>(n);
        out_iov_[i] = {p, n + kHeader};
        out_[i] = {};
        out_[i].msg_hdr.msg_name = &relay.client;
        out_[i].msg_hdr.msg_namelen = relay.client_len;
        out_[i].msg_hdr.msg_iov = &out_iov_[i];
        out_[i].msg_hdr.msg_iovlen = 1;
      }
      send_batch(listen_fd_, count, counters_.to_client, counters_.to_client_bytes);
      if (count < kBatch) return;
    }
  }

  // sendmmsg of out_[0..count); what the socket does not take is dropped (as a relay would).
  void send_batch(int fd, size_t count, uint64_t& packets, uint64_t& bytes) {
    size_t done = 0;
    while (done < count) {
      const int sent =
          sendmmsg(fd, out_.data() + done, static_cast<unsigned>(count - done), MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EINTR) continue;
        ++counters_.send_dropped;  // this datagram fails (full buffer, ICMP error): skip it
        ++done;
        continue;
      }
      for (size_t i = done; i < done + static_cast<size_t>(sent); ++i) {
        bytes += out_[i].msg_hdr.msg_iov->iov_len;
      }
      packets += static_cast<uint64_t>(sent);
      done += static_cast<size_t>(sent);
    }
  }

  sockaddr_storage peer_;
  socklen_t peer_len_;
  sockaddr_storage relay_addr_;
  socklen_t relay_len_;
  size_t max_clients_;
  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  std::unordered_map<AddrKey, std::unique_ptr<Relay>, AddrKeyHash> clients_;
  std::vector<uint8_t> buffers_;  // kBatch slots of kSlot bytes, reused for every batch
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_storage, kBatch> names_{};
  std::array<mmsghdr, kBatch> out_{};
  std::array<iovec, kBatch> out_iov_{};
  std::array<Relay*, kBatch> targets_{};
  std::array<size_t, kBatch> order_{};
  Counters counters_;
};

int usage(const char* message) {
  std::fprintf(stderr,
               "raw_forwarder: %s\nusage: raw_forwarder --listen ADDR:PORT --peer ADDR:PORT "
               "[--relay-address ADDR] [--seconds N] [--max-clients N] [--json]\n",
               message);
  return 2;
}

std::string text_of(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  port = ntohs(a->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "raw_forwarder: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--listen") {
      o.listen = value("--listen");
    } else if (arg == "--peer") {
      o.peer = value("--peer");
    } else if (arg == "--relay-address") {
      o.relay_address = value("--relay-address");
    } else if (arg == "--seconds") {
      o.seconds = std::strtod(value("--seconds"), nullptr);
    } else if (arg == "--max-clients") {
      o.max_clients = std::strtoul(value("--max-clients"), nullptr, 10);
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--help" || arg == "-h") {
      usage("the raw limit of a relay: ChannelData in, payload out (see the source)");
      return 0;
    } else {
      return usage(("unknown argument " + std::string(arg)).c_str());
    }
  }
  if (o.listen.empty() || o.peer.empty()) return usage("--listen and --peer are required");
  if (!(o.seconds > 0 && o.seconds <= 86400)) return usage("--seconds must be in (0, 86400]");
  if (o.max_clients == 0) return usage("--max-clients must be > 0");
  sockaddr_storage listen{}, peer{}, relay{};
  socklen_t listen_len = 0, peer_len = 0, relay_len = 0;
  if (!parse_address(o.listen, true, listen, listen_len)) return usage("bad --listen");
  if (!parse_address(o.peer, true, peer, peer_len)) return usage("bad --peer");
  if (o.relay_address.empty()) {
    relay = listen;
    relay_len = listen_len;
    reinterpret_cast<sockaddr_in*>(&relay)->sin_port = 0;  // same offset for IPv6
  } else if (!parse_address(o.relay_address, false, relay, relay_len)) {
    return usage("bad --relay-address");
  }
  if (relay.ss_family != peer.ss_family) return usage("relay and peer address families differ");

  // One socket per client: let the open-file limit go up to its hard limit.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: epoll_wait returns EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  auto forwarder = std::make_unique<Forwarder>(peer, peer_len, relay, relay_len, o.max_clients);
  std::string error;
  if (!forwarder->open(listen, listen_len, &error)) {
    std::fprintf(stderr, "raw_forwarder: %s %s\n", o.listen.c_str(), error.c_str());
    return 1;
  }
  std::printf("raw_forwarder: listening on udp %s, relaying to peer %s for at most %.1f s\n",
              text_of(listen).c_str(), text_of(peer).c_str(), o.seconds);
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  forwarder->run(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(o.seconds)));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Counters& c = forwarder->counters();
  const auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (o.json) {
    std::printf(
        "{\"to_peer\":%llu,\"to_peer_bytes\":%llu,\"to_client\":%llu,\"to_client_bytes\":%llu,"
        "\"clients\":%zu,\"malformed\":%llu,\"refused\":%llu,\"send_dropped\":%llu,"
        "\"elapsed_s\":%.3f}\n",
        ull(c.to_peer), ull(c.to_peer_bytes), ull(c.to_client), ull(c.to_client_bytes),
        forwarder->clients(), ull(c.malformed), ull(c.refused), ull(c.send_dropped), elapsed);
  } else {
    std::printf(
        "raw_forwarder: forwarded client->peer %llu packets (%llu bytes), peer->client %llu "
        "packets (%llu bytes); %zu clients, malformed %llu, refused %llu, send drops %llu, "
        "in %.2f s\n",
        ull(c.to_peer), ull(c.to_peer_bytes), ull(c.to_client), ull(c.to_client_bytes),
        forwarder->clients(), ull(c.malformed), ull(c.refused), ull(c.send_dropped), elapsed);
  }
  std::fflush(stdout);
  return 0;
}
