// Sockets created by hand where libuv has no option for what we need: SO_REUSEPORT, so that every
// worker thread has its own listening socket on the same address and the kernel spreads clients
// across them (a 5-tuple always lands on the same socket while the set of sockets is unchanged).
#pragma once

#include "turnpike/util/socket_address.h"

namespace turnpike::net {

// Returns a bound socket fd, or a negative libuv-style error (-errno).
int bind_reuseport_socket(const SocketAddress& address, int type);

}  // namespace turnpike::net

namespace turnpike::net {

// Receive and send buffers of a UDP listener: one socket takes every client's traffic, so a burst
// from many clients at once must not overflow the 208 KiB default (RcvbufErrors). Tries
// SO_RCVBUFFORCE/SO_SNDBUFFORCE (root, CAP_NET_ADMIN: above net.core.rmem_max), then the plain
// options (capped by the sysctl). Best effort: returns the receive buffer size the kernel reports.
int enlarge_udp_buffers(int fd, int bytes) noexcept;

}  // namespace turnpike::net
