#include "turnpike/net/relay_sockets.h"

#include <array>

#include "turnpike/net/loop_clock.h"
#include "turnpike/net/socket_options.h"

namespace turnpike::net {

std::optional<uint16_t> RelaySockets::acquire_port(const turn::RelayRequest& request) {
  if (request.port != 0) {
    if (ports_.acquire_specific(request.port)) return request.port;
    return std::nullopt;
  }
  if (request.reserve_next) return ports_.acquire_pair();
  return ports_.acquire(request.even_port);
}

// Binds a port of the range. EADDRINUSE means another process (or the kernel's ephemeral ports)
// holds it right now: it is kept out of this search, then given back (tried again another time,
// never lost).
std::unique_ptr<UdpSocket> RelaySockets::bind(const IpAddress& ip,
                                              const turn::RelayRequest& request) {
  std::array<uint16_t, 16> busy{};
  size_t busy_count = 0;
  std::unique_ptr<UdpSocket> bound;
  for (int attempt = 0; attempt < 16 && !bound; ++attempt) {
    const std::optional<uint16_t> port = acquire_port(request);
    if (!port) break;
    auto socket = std::make_unique<UdpSocket>(*this, SocketAddress{ip, *port});
    const int error = socket->open(loop_, false);
    if (error == 0) {
      bound = std::move(socket);
      break;
    }
    if (request.reserve_next) ports_.release(static_cast<uint16_t>(*port + 1));
    if (error == UV_EADDRINUSE && request.port == 0 && busy_count < busy.size()) {
      busy[busy_count++] = *port;
      continue;
    }
    ports_.release(*port);
    break;
  }
  for (size_t i = 0; i < busy_count; ++i) ports_.release(busy[i]);
  return bound;
}

std::optional<SocketAddress> RelaySockets::open(turn::AllocationId owner,
                                                const turn::RelayRequest& request) {
  const std::optional<IpAddress> ip =
      request.family == Family::kIPv4 ? std::optional(ipv4_) : ipv6_;
  if (!ip) return std::nullopt;
  std::unique_ptr<UdpSocket> socket = bind(*ip, request);
  if (!socket) return std::nullopt;
  enlarge_udp_buffers(socket->fd(), kBufferBytes);
  socket->tag = owner.index;
  if (slots_.size() <= owner.index) slots_.resize(owner.index + 1);
  Slot& slot = slots_[owner.index];
  close_socket(slot);
  slot.owner = owner;
  slot.socket = std::move(socket);
  ports_.set_live(request.family, slot.socket->local().port, true);
  return slot.socket->local();
}

void RelaySockets::close_socket(Slot& slot) {
  if (!slot.socket) return;
  // Queued datagrams name the descriptor, which uv_close releases at once (and the kernel may
  // hand out again): they leave first. The port returns to the pool once the socket is closed.
  io_.flush();
  const uint16_t port = slot.socket->local().port;
  ports_.set_live(slot.socket->local().family(), port, false);
  slot.socket->close([ports = &ports_, port] { ports->release(port); });
  slot.socket.reset();
}

void RelaySockets::close(turn::AllocationId owner) {
  if (owner.index >= slots_.size()) return;
  Slot& slot = slots_[owner.index];
  if (slot.owner == owner) close_socket(slot);
}

void RelaySockets::close_all() {
  for (Slot& slot : slots_) close_socket(slot);
}

void RelaySockets::on_datagram(UdpSocket& socket, uint8_t* payload, size_t length,
                               const sockaddr* from) {
  const auto peer = SocketAddress::from_sockaddr(from);
  if (!peer || server_ == nullptr) return;
  const turn::AllocationId owner = slots_[socket.tag].owner;
  server_->on_peer_datagram(owner, *peer, turn::PeerPacket{payload, length}, loop_now(loop_));
}

}  // namespace turnpike::net
