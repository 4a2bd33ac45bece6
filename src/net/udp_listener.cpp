#include "turnpike/net/udp_listener.h"

#include "turnpike/net/loop_clock.h"
#include "turnpike/net/socket_options.h"

namespace turnpike::net {

int UdpListener::open(bool shared) {
  const int error = socket_.open(loop_, shared);
  if (error == 0) enlarge_udp_buffers(socket_.fd(), kBufferBytes);
  return error;
}

void UdpListener::close() {
  io_.flush();  // queued datagrams name the descriptor, which uv_close releases at once
  socket_.close();
}

void UdpListener::on_datagram(UdpSocket& socket, uint8_t* payload, size_t length,
                              const sockaddr* from) {
  const auto client = SocketAddress::from_sockaddr(from);
  if (!client) return;
  const FiveTuple tuple{*client, socket.local(), Transport::kUdp, 0};
  server_.on_client_message(tuple, ByteView(payload, length), loop_now(loop_));
}

}  // namespace turnpike::net
