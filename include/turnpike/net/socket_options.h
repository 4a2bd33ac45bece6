// Sockets created by hand where libuv has no option for what we need: SO_REUSEPORT, so that every
// worker thread has its own listening socket on the same address and the kernel spreads clients
// across them (a 5-tuple always lands on the same socket while the set of sockets is unchanged).
#pragma once

#include "turnpike/util/socket_address.h"

namespace turnpike::net {

// Returns a bound socket fd, or a negative libuv-style error (-errno).
int bind_reuseport_socket(const SocketAddress& address, int type);

}  // namespace turnpike::net
