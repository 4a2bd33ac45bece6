"""TCP and TLS connections to the daemon's stream listeners: connecting (TCP_NODELAY, optional
TLS without verification) and waiting for the server to close."""

from __future__ import annotations

import errno
import socket
import ssl
import time
from typing import Optional


def tls_client_context() -> ssl.SSLContext:
    """A TLS client context that does not verify the (self-signed) server certificate."""
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def connect_stream(server: tuple[str, int], tls: bool = False, timeout_s: float = 5.0) -> socket.socket:
    """A TCP connection (TCP_NODELAY) to server; with tls, after a completed TLS handshake."""
    sock = socket.create_connection(server, timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        try:
            sock = tls_client_context().wrap_socket(sock)
        except BaseException:
            sock.close()
            raise
    return sock


def wait_peer_close(sock: socket.socket, timeout_s: float) -> tuple[Optional[float], str]:
    """Reads (and discards) until the server closes the connection. Returns (seconds waited,
    how: "eof" / "reset" / ...) or (None, "open") if it is still open after timeout_s."""
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, "open"
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None, "open"
        except ssl.SSLZeroReturnError:
            return time.monotonic() - start, "tls close_notify"
        except ssl.SSLEOFError:
            return time.monotonic() - start, "eof (no close_notify)"
        except ssl.SSLError as e:
            return time.monotonic() - start, f"tls error {e.reason or e}"
        except ConnectionResetError:
            return time.monotonic() - start, "reset"
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
                return time.monotonic() - start, "reset"
            raise
        if not data:
            return time.monotonic() - start, "eof"
