"""A small TURN client: TurnClient over one UDP 5-tuple (bounded retransmissions, long-term
credentials, the 401/438 challenge), and StreamTurnClient over one TCP or TLS connection
(RFC 8656 §3.1)."""

from __future__ import annotations

import socket
import ssl
import struct
import time
from typing import Iterable, Optional

from .net import LOOPBACK
from .streams import connect_stream, wait_peer_close
from .stun_codec import (A_CHANNEL_NUMBER, A_DATA, A_LIFETIME, A_NONCE, A_REALM,
                         A_REQUESTED_TRANSPORT, A_USERNAME, A_XOR_PEER_ADDRESS,
                         A_XOR_RELAYED_ADDRESS, ALLOCATE, BINDING, CHANNEL_BIND, CREATE_PERMISSION,
                         ERROR, HEADER_SIZE, INDICATION, PROTO_UDP, REFRESH, REQUEST, SEND,
                         SUCCESS, StunMessage, XorAddr, build_message, long_term_key, make_type,
                         pad4, try_parse)


class TurnClient:
    """One UDP 5-tuple towards the server. Requests are retransmitted a bounded number of times."""

    def __init__(self, server: tuple[str, int], first_wait_s: float = 1.0, retries: int = 2):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.first_wait_s = first_wait_s
        self.retries = retries
        self.username: Optional[str] = None
        self.realm: Optional[str] = None
        self.nonce: Optional[bytes] = None
        self.key: Optional[bytes] = None
        self.relayed: Optional[tuple[str, int]] = None
        self.stray: list[bytes] = []  # datagrams that were not the awaited response

    @property
    def local(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def recv_raw(self, timeout_s: float) -> Optional[bytes]:
        """Next datagram from the server within timeout_s, or None."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:  # ICMP port unreachable from an earlier send
                continue
            if src[:2] == self.server[:2]:
                return data

    def drain(self, timeout_s: float = 0.2) -> list[bytes]:
        got = []
        while len(got) < 100:
            d = self.recv_raw(timeout_s)
            if d is None:
                break
            got.append(d)
        return got

    def transact(self, data: bytes) -> Optional[StunMessage]:
        """Sends a request and waits for the response with the same transaction ID."""
        tid = data[8:20]
        wait = self.first_wait_s
        for _attempt in range(1 + self.retries):
            self.send_raw(data)
            deadline = time.monotonic() + wait
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                raw = self.recv_raw(left)
                if raw is None:
                    break
                msg = try_parse(raw)
                if msg is not None and msg.tid == tid and msg.cls in (SUCCESS, ERROR):
                    return msg
                self.stray.append(raw)
            wait = min(wait * 2, 2.0)
        return None

    def set_credentials(self, username: str, password: str, realm: Optional[str] = None) -> None:
        self.username = username
        self._password = password
        if realm is not None:
            self.realm = realm
        if self.realm is not None:
            self.key = long_term_key(username, self.realm, password)

    def auth_attrs(self, nonce: Optional[bytes] = None) -> list[tuple[int, bytes]]:
        assert self.username is not None and self.realm is not None
        return [(A_USERNAME, self.username.encode()), (A_REALM, self.realm.encode()),
                (A_NONCE, nonce if nonce is not None else (self.nonce or b""))]

    def request(self, method: int, attrs: Iterable[tuple[int, bytes]] = (), auth: bool = True,
                nonce: Optional[bytes] = None, key: Optional[bytes] = None,
                retry_stale: bool = True, tid: Optional[bytes] = None) -> Optional[StunMessage]:
        """A request; with auth, adds USERNAME/REALM/NONCE/MESSAGE-INTEGRITY from the last challenge.
        A 438 (stale nonce) is retried once with the fresh nonce unless retry_stale is False."""
        attrs = list(attrs)
        if auth and self.username is not None and self.realm is not None:
            all_attrs = attrs + self.auth_attrs(nonce)
            msg = build_message(make_type(method, REQUEST), tid=tid, attrs=all_attrs,
                                key=key or self.key)
        else:
            msg = build_message(make_type(method, REQUEST), tid=tid, attrs=attrs)
        resp = self.transact(msg)
        if resp is not None and resp.cls == ERROR:
            self._absorb_challenge(resp)
            if retry_stale and auth and nonce is None and resp.code() == 438:
                return self.request(method, attrs, auth=True, retry_stale=False)
        return resp

    def _absorb_challenge(self, resp: StunMessage) -> None:
        if resp.code() in (401, 438):
            realm, nonce = resp.text(A_REALM), resp.get(A_NONCE)
            if realm is not None and nonce is not None:
                self.realm = realm
                self.nonce = nonce
                if self.username is not None:
                    self.key = long_term_key(self.username, realm, self._password)

    def challenge(self, method: int = ALLOCATE, attrs: Optional[list] = None) -> Optional[StunMessage]:
        """Sends an unauthenticated request to learn REALM and NONCE (expects a 401)."""
        if attrs is None:
            attrs = [(A_REQUESTED_TRANSPORT, bytes([PROTO_UDP, 0, 0, 0]))]
        resp = self.transact(build_message(make_type(method, REQUEST), attrs=attrs))
        if resp is not None:
            self._absorb_challenge(resp)
        return resp

    def allocate(self, username: str, password: str, transport: int = PROTO_UDP,
                 lifetime: Optional[int] = None, extra: Iterable[tuple[int, bytes]] = ()
                 ) -> Optional[StunMessage]:
        """The full long-term-credential Allocate: challenge, then the authenticated request."""
        self.set_credentials(username, password)
        attrs = [(A_REQUESTED_TRANSPORT, bytes([transport, 0, 0, 0]))]
        if lifetime is not None:
            attrs.append((A_LIFETIME, struct.pack("!I", lifetime)))
        attrs += list(extra)
        if self.nonce is None:
            first = self.challenge(ALLOCATE, attrs)
            if first is None or first.code() != 401 or self.nonce is None:
                return first
        resp = self.request(ALLOCATE, attrs)
        if resp is not None and resp.cls == SUCCESS:
            self.relayed = resp.xor_address(A_XOR_RELAYED_ADDRESS)
        return resp

    def create_permission(self, peers: Iterable[tuple[str, int]], **kw) -> Optional[StunMessage]:
        attrs = [(A_XOR_PEER_ADDRESS, XorAddr(ip, port)) for ip, port in peers]
        return self.request(CREATE_PERMISSION, attrs, **kw)

    def channel_bind(self, channel: int, peer: tuple[str, int], **kw) -> Optional[StunMessage]:
        attrs = [(A_CHANNEL_NUMBER, struct.pack("!HH", channel, 0)),
                 (A_XOR_PEER_ADDRESS, XorAddr(peer[0], peer[1]))]
        return self.request(CHANNEL_BIND, attrs, **kw)

    def refresh(self, lifetime: int, **kw) -> Optional[StunMessage]:
        return self.request(REFRESH, [(A_LIFETIME, struct.pack("!I", lifetime))], **kw)

    def send_indication(self, peer: tuple[str, int], data: bytes) -> None:
        attrs = [(A_XOR_PEER_ADDRESS, XorAddr(peer[0], peer[1])), (A_DATA, data)]
        self.send_raw(build_message(make_type(SEND, INDICATION), attrs=attrs))

    def binding(self, fingerprint: bool = True) -> Optional[StunMessage]:
        return self.transact(build_message(make_type(BINDING, REQUEST), fingerprint=fingerprint))


class StreamTurnClient(TurnClient):
    """TurnClient over one TCP or TLS connection: STUN messages and ChannelData frames are read
    from the byte stream by their length fields (ChannelData padded to 4, RFC 8656 §12.5).
    Requests are not retransmitted (the transport is reliable). With byte_at_a_time, every send
    writes ONE byte per send() call with a short sleep in between (TCP_NODELAY is on), so the
    server sees the stream in the smallest possible pieces."""

    def __init__(self, server: tuple[str, int], tls: bool = False, wait_s: float = 5.0,
                 byte_at_a_time: bool = False, byte_delay_s: float = 0.0005):
        super().__init__(server, first_wait_s=wait_s, retries=0)
        self.sock.close()  # the UDP socket TurnClient made
        self.sock = connect_stream(server, tls=tls, timeout_s=wait_s)
        self.byte_at_a_time = byte_at_a_time
        self.byte_delay_s = byte_delay_s
        self.rx = bytearray()
        self.eof: Optional[str] = None  # set when the server closed the connection
        self.garbage: Optional[bytes] = None  # set when the server sent a non-STUN frame start

    @property
    def local(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def send_raw(self, data: bytes) -> None:
        if not self.byte_at_a_time:
            self.sock.sendall(data)
            return
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            if self.byte_delay_s > 0:
                time.sleep(self.byte_delay_s)

    def _frame_size(self) -> Optional[int]:
        """Wire size of the frame at the start of rx (with padding), None when unknown yet."""
        if len(self.rx) < 4:
            return None
        kind = self.rx[0] & 0xC0
        (length,) = struct.unpack("!H", self.rx[2:4])
        if kind == 0x00:
            return HEADER_SIZE + length
        if kind == 0x40:
            return 4 + pad4(length)
        self.garbage = bytes(self.rx[:16])
        return -1

    def recv_raw(self, timeout_s: float) -> Optional[bytes]:
        """The next frame from the server as on the wire (ChannelData WITH its padding), or None
        on timeout, end of stream, or a byte stream that is not STUN/ChannelData."""
        deadline = time.monotonic() + timeout_s
        while True:
            size = self._frame_size()
            if size == -1:
                return None
            if size is not None and len(self.rx) >= size:
                frame = bytes(self.rx[:size])
                del self.rx[:size]
                return frame
            if self.eof is not None:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            except (ssl.SSLError, ConnectionResetError) as e:
                self.eof = f"{type(e).__name__}: {e}"
                return None
            if not data:
                self.eof = "eof"
                return None
            self.rx += data

    def wait_closed(self, timeout_s: float) -> tuple[Optional[float], str]:
        """Like wait_peer_close, for this client's connection."""
        if self.eof is not None:
            return 0.0, self.eof
        return wait_peer_close(self.sock, timeout_s)
