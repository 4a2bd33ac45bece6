"""Shared helpers for turnpike's integration tests (Python 3 standard library only).

- ports:   a private, file-locked block of UDP ports per test process (relay range, peer ports,
           listener), so tests run concurrently by `ctest -j` never collide;
- daemon:  writes a temporary config, starts turnpiked with stderr captured to a file, waits for
           the "turnpiked ready" line, stops it with SIGTERM and checks it exits 0;
- tools:   runs coturn's client tools (turnutils_*) with hard timeouts and parses their output;
- STUN:    a small STUN/TURN client (RFC 8489 / RFC 8656): message building with long-term
           MESSAGE-INTEGRITY and FINGERPRINT, parsing, XOR addresses, error codes;
- checks:  soft assertions collected per test; on any failure the daemon log is printed.

Everything is bounded in count and time, and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

LOOPBACK = "127.0.0.1"
REALM = "turnpike.test"
STATIC_USERS = {"alice": "alice-pass"}
REST_SECRETS = ["s3cret-one", "s3cret-two"]

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 300

# --------------------------------------------------------------------------------------------
# STUN / TURN wire format
# --------------------------------------------------------------------------------------------

MAGIC_COOKIE = 0x2112A442
HEADER_SIZE = 20
FINGERPRINT_XOR = 0x5354554E

# Methods.
BINDING = 0x001
ALLOCATE = 0x003
REFRESH = 0x004
SEND = 0x006
DATA = 0x007
CREATE_PERMISSION = 0x008
CHANNEL_BIND = 0x009

# Classes.
REQUEST = 0
INDICATION = 1
SUCCESS = 2
ERROR = 3

# Attributes.
A_MAPPED_ADDRESS = 0x0001
A_USERNAME = 0x0006
A_MESSAGE_INTEGRITY = 0x0008
A_ERROR_CODE = 0x0009
A_UNKNOWN_ATTRIBUTES = 0x000A
A_CHANNEL_NUMBER = 0x000C
A_LIFETIME = 0x000D
A_XOR_PEER_ADDRESS = 0x0012
A_DATA = 0x0013
A_REALM = 0x0014
A_NONCE = 0x0015
A_XOR_RELAYED_ADDRESS = 0x0016
A_REQUESTED_ADDRESS_FAMILY = 0x0017
A_EVEN_PORT = 0x0018
A_REQUESTED_TRANSPORT = 0x0019
A_DONT_FRAGMENT = 0x001A
A_XOR_MAPPED_ADDRESS = 0x0020
A_RESERVATION_TOKEN = 0x0022
A_SOFTWARE = 0x8022
A_FINGERPRINT = 0x8028

PROTO_UDP = 17
PROTO_TCP = 6

METHOD_NAMES = {
    BINDING: "Binding", ALLOCATE: "Allocate", REFRESH: "Refresh", SEND: "Send", DATA: "Data",
    CREATE_PERMISSION: "CreatePermission", CHANNEL_BIND: "ChannelBind",
}
CLASS_NAMES = {REQUEST: "request", INDICATION: "indication", SUCCESS: "success", ERROR: "error"}


def make_type(method: int, cls: int) -> int:
    """RFC 8489 §5: class bits C1 C0 at bits 8 and 4 of the 14-bit type, the method around them."""
    return ((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
            | ((cls & 0x1) << 4) | ((cls & 0x2) << 7))


def method_of(msg_type: int) -> int:
    return (msg_type & 0x000F) | ((msg_type & 0x00E0) >> 1) | ((msg_type & 0x3E00) >> 2)


def class_of(msg_type: int) -> int:
    return ((msg_type >> 4) & 0x1) | ((msg_type >> 7) & 0x2)


def new_tid() -> bytes:
    return os.urandom(12)


def pad4(n: int) -> int:
    return (n + 3) & ~3


def encode_attr(attr_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", attr_type, len(value)) + value + b"\x00" * (pad4(len(value)) - len(value))


def encode_xor_address(ip: str, port: int, tid: bytes) -> bytes:
    """XOR-MAPPED/PEER/RELAYED-ADDRESS value (RFC 8489 §14.2)."""
    xport = port ^ (MAGIC_COOKIE >> 16)
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        mask = struct.pack("!I", MAGIC_COOKIE) + tid
        return struct.pack("!BBH", 0, 0x02, xport) + bytes(a ^ b for a, b in zip(raw, mask))
    raw = socket.inet_pton(socket.AF_INET, ip)
    (addr,) = struct.unpack("!I", raw)
    return struct.pack("!BBHI", 0, 0x01, xport, addr ^ MAGIC_COOKIE)


def decode_xor_address(value: bytes, tid: bytes) -> tuple[str, int]:
    if len(value) < 8:
        raise ValueError(f"XOR address too short ({len(value)} bytes)")
    _, family, xport = struct.unpack("!BBH", value[:4])
    port = xport ^ (MAGIC_COOKIE >> 16)
    if family == 0x01:
        if len(value) != 8:
            raise ValueError(f"IPv4 XOR address has length {len(value)}")
        (xaddr,) = struct.unpack("!I", value[4:8])
        return socket.inet_ntop(socket.AF_INET, struct.pack("!I", xaddr ^ MAGIC_COOKIE)), port
    if family == 0x02:
        if len(value) != 20:
            raise ValueError(f"IPv6 XOR address has length {len(value)}")
        mask = struct.pack("!I", MAGIC_COOKIE) + tid
        raw = bytes(a ^ b for a, b in zip(value[4:20], mask))
        return socket.inet_ntop(socket.AF_INET6, raw), port
    raise ValueError(f"unknown address family {family:#x}")


def decode_plain_address(value: bytes) -> tuple[str, int]:
    _, family, port = struct.unpack("!BBH", value[:4])
    if family == 0x01:
        return socket.inet_ntop(socket.AF_INET, value[4:8]), port
    return socket.inet_ntop(socket.AF_INET6, value[4:20]), port


def error_code_value(code: int, reason: str = "") -> bytes:
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode()


def long_term_key(username: str, realm: str, password: str) -> bytes:
    """RFC 8489 §9.2.2 MD5 key (no SASLprep: the test credentials are plain ASCII)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).digest()


def rest_password(secret: str, username: str) -> str:
    """TURN REST: base64(HMAC-SHA1(secret, username))."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def rest_credential(secret: str, user: str, expiry_unix: int, separator: str = ":") -> tuple[str, str]:
    username = f"{expiry_unix}{separator}{user}" if user else str(expiry_unix)
    return username, rest_password(secret, username)


@dataclass(frozen=True)
class XorAddr:
    """An attribute value encoded as an XOR address with the message's own transaction ID."""
    ip: str
    port: int


def build_message(msg_type: int, tid: Optional[bytes] = None, attrs: Iterable[tuple] = (),
                  key: Optional[bytes] = None, fingerprint: bool = True,
                  cookie: int = MAGIC_COOKIE) -> bytes:
    """Encodes a STUN message; with `key`, appends MESSAGE-INTEGRITY (HMAC-SHA1), then FINGERPRINT.
    Attribute values are bytes, or XorAddr (encoded with this message's transaction ID)."""
    tid = tid if tid is not None else new_tid()
    assert len(tid) == 12
    body = b"".join(
        encode_attr(t, encode_xor_address(v.ip, v.port, tid) if isinstance(v, XorAddr) else v)
        for t, v in attrs)
    if key is not None:
        header = struct.pack("!HHI", msg_type, len(body) + 24, cookie) + tid
        mac = hmac.new(key, header + body, hashlib.sha1).digest()
        body += encode_attr(A_MESSAGE_INTEGRITY, mac)
    if fingerprint:
        header = struct.pack("!HHI", msg_type, len(body) + 8, cookie) + tid
        crc = (zlib.crc32(header + body) ^ FINGERPRINT_XOR) & 0xFFFFFFFF
        body += encode_attr(A_FINGERPRINT, struct.pack("!I", crc))
    return struct.pack("!HHI", msg_type, len(body), cookie) + tid + body


def channel_data(channel: int, data: bytes, pad: bool = True) -> bytes:
    frame = struct.pack("!HH", channel, len(data)) + data
    if pad:
        frame += b"\x00" * (pad4(len(frame)) - len(frame))
    return frame


class StunParseError(ValueError):
    pass


@dataclass
class StunMessage:
    msg_type: int
    tid: bytes
    attrs: list  # [(type, value, offset_of_attribute_header)]
    raw: bytes

    @property
    def method(self) -> int:
        return method_of(self.msg_type)

    @property
    def cls(self) -> int:
        return class_of(self.msg_type)

    def describe(self) -> str:
        name = METHOD_NAMES.get(self.method, f"method {self.method:#x}")
        text = f"{name} {CLASS_NAMES[self.cls]}"
        err = self.error_code()
        if err:
            text += f" {err[0]} {err[1]!r}"
        return text

    def get(self, attr_type: int) -> Optional[bytes]:
        for t, v, _ in self.attrs:
            if t == attr_type:
                return v
        return None

    def has(self, attr_type: int) -> bool:
        return self.get(attr_type) is not None

    def text(self, attr_type: int) -> Optional[str]:
        v = self.get(attr_type)
        return v.decode("utf-8", "replace") if v is not None else None

    def error_code(self) -> Optional[tuple[int, str]]:
        v = self.get(A_ERROR_CODE)
        if v is None or len(v) < 4:
            return None
        return (v[2] & 0x07) * 100 + v[3], v[4:].decode("utf-8", "replace")

    def code(self) -> Optional[int]:
        e = self.error_code()
        return e[0] if e else None

    def xor_address(self, attr_type: int) -> Optional[tuple[str, int]]:
        v = self.get(attr_type)
        return decode_xor_address(v, self.tid) if v is not None else None

    def _prefix_with_length(self, offset: int, extra: int) -> bytes:
        prefix = bytearray(self.raw[:offset])
        struct.pack_into("!H", prefix, 2, offset - HEADER_SIZE + extra)
        return bytes(prefix)

    def fingerprint_ok(self) -> Optional[bool]:
        """None when there is no FINGERPRINT; otherwise whether it is correct and last."""
        for i, (t, v, off) in enumerate(self.attrs):
            if t == A_FINGERPRINT:
                if i != len(self.attrs) - 1 or len(v) != 4:
                    return False
                crc = (zlib.crc32(self._prefix_with_length(off, 8)) ^ FINGERPRINT_XOR) & 0xFFFFFFFF
                return struct.unpack("!I", v)[0] == crc
        return None

    def integrity_ok(self, key: bytes) -> Optional[bool]:
        """None when there is no MESSAGE-INTEGRITY; otherwise whether it verifies with `key`."""
        for t, v, off in self.attrs:
            if t == A_MESSAGE_INTEGRITY:
                mac = hmac.new(key, self._prefix_with_length(off, 24), hashlib.sha1).digest()
                return hmac.compare_digest(mac, v)
        return None


def parse_message(data: bytes) -> StunMessage:
    """Strict RFC 8489 parse; raises StunParseError on anything malformed."""
    if len(data) < HEADER_SIZE:
        raise StunParseError(f"short datagram ({len(data)} bytes)")
    msg_type, length, cookie = struct.unpack("!HHI", data[:8])
    if msg_type & 0xC000:
        raise StunParseError("first two bits are not zero (not STUN)")
    if cookie != MAGIC_COOKIE:
        raise StunParseError(f"bad magic cookie {cookie:#x}")
    if length % 4 or HEADER_SIZE + length != len(data):
        raise StunParseError(f"length field {length} does not match datagram size {len(data)}")
    attrs = []
    pos = HEADER_SIZE
    while pos < len(data):
        if pos + 4 > len(data):
            raise StunParseError("truncated attribute header")
        t, alen = struct.unpack("!HH", data[pos:pos + 4])
        if pos + 4 + pad4(alen) > len(data):
            raise StunParseError(f"attribute {t:#06x} runs past the end")
        attrs.append((t, data[pos + 4:pos + 4 + alen], pos))
        pos += 4 + pad4(alen)
    return StunMessage(msg_type, data[8:20], attrs, data)


def try_parse(data: Optional[bytes]) -> Optional[StunMessage]:
    if data is None:
        return None
    try:
        return parse_message(data)
    except StunParseError:
        return None


# --------------------------------------------------------------------------------------------
# A small TURN client over UDP
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------------------------

# Blocks of 100 UDP ports below Linux's default ephemeral range (32768-60999), so nothing that
# binds port 0 lands in them. Each test process holds an flock on its block for its lifetime.
BLOCK_SIZE = 100
BLOCK_FIRST = 20000
BLOCK_COUNT = 120  # 20000..31999
_held_locks: list = []


def _port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@dataclass
class PortBlock:
    base: int

    @property
    def relay_min(self) -> int:
        return self.base  # even

    @property
    def relay_max(self) -> int:
        return self.base + 79

    @property
    def peer(self) -> int:
        return self.base + 90  # turnutils_peer binds this and +1

    @property
    def spare(self) -> int:
        return self.base + 94  # for a Python peer socket

    @property
    def listener(self) -> int:
        return self.base + 98

    @property
    def tcp_listener(self) -> int:
        return self.base + 96  # a TCP port: the block's flock covers TCP and UDP alike

    @property
    def tls_listener(self) -> int:
        return self.base + 97


def reserve_port_block(exclude: Iterable[int] = ()) -> PortBlock:
    lock_dir = os.path.join(tempfile.gettempdir(), "turnpike-it-ports")
    os.makedirs(lock_dir, exist_ok=True)
    candidates = [i for i in range(BLOCK_COUNT) if BLOCK_FIRST + i * BLOCK_SIZE not in set(exclude)]
    random.SystemRandom().shuffle(candidates)
    for idx in candidates[:60]:
        base = BLOCK_FIRST + idx * BLOCK_SIZE
        fd = os.open(os.path.join(lock_dir, f"block-{base}.lock"), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if all(_port_free(p) for p in range(base, base + BLOCK_SIZE)):
            _held_locks.append(fd)
            return PortBlock(base)
        os.close(fd)
    raise RuntimeError("no free block of UDP ports in 20000-31999")


# --------------------------------------------------------------------------------------------
# Checks and failure reporting
# --------------------------------------------------------------------------------------------

class Fatal(Exception):
    """Aborts the test; the message says why. `recorded` when it was already listed as a failure."""

    def __init__(self, message: str, recorded: bool = False):
        super().__init__(message)
        self.recorded = recorded


class Checks:
    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        self.passes = 0

    def check(self, cond: bool, what: str, detail: str = "") -> bool:
        if cond:
            self.passes += 1
            print(f"  ok    {what}", flush=True)
        else:
            msg = what + (f" -- {detail}" if detail else "")
            self.failures.append(msg)
            print(f"  FAIL  {msg}", flush=True)
        return cond

    def require(self, cond: bool, what: str, detail: str = "") -> None:
        if not self.check(cond, what, detail):
            raise Fatal(what + (f" -- {detail}" if detail else ""), recorded=True)


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def describe(msg: Optional[StunMessage]) -> str:
    return "no response" if msg is None else msg.describe()


# --------------------------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------------------------

def base_config(block: PortBlock, **overrides) -> dict:
    cfg = {
        "listeners": [{"transport": "udp", "address": LOOPBACK, "port": block.listener}],
        "relay": {"address": LOOPBACK, "port_min": block.relay_min, "port_max": block.relay_max},
        "auth": {"realm": REALM, "static_users": dict(STATIC_USERS),
                 "rest_secrets": list(REST_SECRETS)},
        "peers": {"allow": ["127.0.0.0/8"]},
        "log": {"level": "debug"},
    }
    cfg.update(overrides)
    return cfg


class Daemon:
    def __init__(self, binary: str, workdir: str, name: str = "turnpiked"):
        self.binary = binary
        self.workdir = workdir
        self.name = name
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.config_path = os.path.join(workdir, f"{name}.json")
        self.block: Optional[PortBlock] = None
        self.stopped_rc: Optional[int] = None

    @property
    def address(self) -> tuple[str, int]:
        assert self.block is not None
        return (LOOPBACK, self.block.listener)

    @property
    def tcp_address(self) -> tuple[str, int]:
        """The TCP listener of stream_config()."""
        assert self.block is not None
        return (LOOPBACK, self.block.tcp_listener)

    @property
    def tls_address(self) -> tuple[str, int]:
        """The TLS listener of stream_config()."""
        assert self.block is not None
        return (LOOPBACK, self.block.tls_listener)

    def start(self, config_fn: Callable[[PortBlock], dict] = base_config, attempts: int = 3) -> None:
        """Reserves ports, writes the config, starts the daemon and waits for the ready line.
        Retries with another port block when a port turned out to be taken."""
        tried: list[int] = []
        for attempt in range(attempts):
            self.block = reserve_port_block(exclude=tried)
            tried.append(self.block.base)
            write_json(self.config_path, config_fn(self.block))
            if self._launch():
                return
            log = self.log_text()
            if attempt + 1 < attempts and re.search(r"in use|EADDRINUSE", log, re.I):
                print(f"  (port collision, retrying with another block)", flush=True)
                continue
            rc = self.proc.returncode if self.proc is not None else None
            first = next((l for l in log.splitlines() if l.strip()), "")
            raise Fatal(f"daemon did not become ready (exit code {rc}; log: {first[:200]!r})")

    def _launch(self) -> bool:
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "--config", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     start_new_session=True)
        logf.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if "turnpiked ready" in self.log_text():
                print(f"  daemon ready (pid {self.proc.pid}, udp {self.address[0]}:{self.address[1]}, "
                      f"relay {self.block.relay_min}-{self.block.relay_max})", flush=True)
                return True
            if self.proc.poll() is not None:
                print(f"  daemon exited with code {self.proc.returncode} before ready", flush=True)
                return False
            time.sleep(0.05)
        print(f"  daemon not ready after {READY_TIMEOUT_S:.0f} s", flush=True)
        self.kill()
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def death_note(self) -> str:
        """Why the daemon is not running, for failure messages."""
        if self.proc is None or self.proc.poll() is None:
            return "running"
        rc = self.proc.returncode
        note = f"exited with code {rc}"
        if rc < 0:
            note += f" (killed by signal {-rc})"
        if re.search(r"signal (15|2)\b", self.log_text()):
            note += ("; its log shows it received SIGTERM/SIGINT, which this test did not send: "
                     "something else killed it (e.g. a `pkill turnpiked` in another shell)")
        return note

    def stop(self) -> Optional[int]:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self.stopped_rc = self.proc.returncode
        return self.stopped_rc

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def log_text(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def print_log(self, tail: int = LOG_TAIL_LINES) -> None:
        lines = self.log_text().splitlines()
        print(f"\n---- {self.name} log ({self.log_path}), last {min(tail, len(lines))} "
              f"of {len(lines)} lines ----", flush=True)
        for line in lines[-tail:]:
            print(line)
        print(f"---- end of {self.name} log ----", flush=True)


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


# --------------------------------------------------------------------------------------------
# External tools
# --------------------------------------------------------------------------------------------

@dataclass
class ToolResult:
    cmd: list
    rc: Optional[int]  # None when it timed out
    output: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.rc is None


def run_tool(cmd: list, timeout_s: float, cwd: Optional[str] = None) -> ToolResult:
    """Runs a command with stdout+stderr merged; kills its whole process group on timeout."""
    print(f"  $ {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        rc: Optional[int] = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        rc = None
    return ToolResult(cmd, rc, out.decode("utf-8", "replace"), time.monotonic() - start)


class Background:
    """A helper process (e.g. turnutils_peer) that is killed when the test ends."""

    def __init__(self, cmd: list, log_path: str):
        self.cmd = cmd
        self.log_path = log_path
        print(f"  $ {' '.join(cmd)} &", flush=True)
        logf = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)


def find_tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if path is None:
        raise Fatal(f"{name} not found: install Debian's 'coturn' package (scripts/deps.sh does)")
    return path


def wait_udp_bound(port: int, timeout_s: float = 5.0) -> bool:
    """True once something has bound 127.0.0.1:port (our own bind attempt fails)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _port_free(port):
            return True
        time.sleep(0.05)
    return False


@dataclass
class UclientStats:
    sent: Optional[int] = None
    received: Optional[int] = None
    sent_bytes: Optional[int] = None
    received_bytes: Optional[int] = None
    lost: Optional[int] = None
    lost_pct: Optional[float] = None
    send_dropped: Optional[int] = None
    rtt_avg_ms: Optional[float] = None
    rtt_min_ms: Optional[int] = None
    rtt_max_ms: Optional[int] = None
    jitter_avg_ms: Optional[float] = None
    jitter_min_ms: Optional[int] = None
    jitter_max_ms: Optional[int] = None
    connect_s: Optional[int] = None
    transmit_s: Optional[int] = None
    summary_lines: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def one_line(self) -> str:
        return (f"sent={self.sent} received={self.received} lost={self.lost} ({self.lost_pct}%) "
                f"send_dropped={self.send_dropped} rtt_avg={self.rtt_avg_ms} ms "
                f"(min {self.rtt_min_ms}, max {self.rtt_max_ms}) jitter_avg={self.jitter_avg_ms} ms "
                f"connect={self.connect_s} s transmit={self.transmit_s} s")


_FLOAT = r"(-?[0-9.]+|-?nan|-?inf)"


def parse_uclient(output: str) -> UclientStats:
    """Parses turnutils_uclient's final report (coturn 4.6: start_mclient summary lines)."""
    s = UclientStats()
    seen = set()
    for line in output.splitlines():
        if line in seen:  # uclient writes some report lines twice
            continue
        seen.add(line)
        m = re.search(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", line)
        if m and "msz=" not in line:
            s.sent, s.received = int(m.group(1)), int(m.group(2))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)\s*$", line)
        if m and "msz=" not in line:
            s.sent_bytes, s.received_bytes = int(m.group(1)), int(m.group(2))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Total lost packets (\d+) \(" + _FLOAT + r"%\), total send dropped (\d+)", line)
        if m:
            s.lost, s.lost_pct, s.send_dropped = int(m.group(1)), float(m.group(2)), int(m.group(3))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Average round trip delay " + _FLOAT + r" ms; min = (\d+) ms, max = (\d+) ms", line)
        if m:
            s.rtt_avg_ms, s.rtt_min_ms, s.rtt_max_ms = float(m.group(1)), int(m.group(2)), int(m.group(3))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Average jitter " + _FLOAT + r" ms; min = (\d+) ms, max = (\d+) ms", line)
        if m:
            s.jitter_avg_ms, s.jitter_min_ms, s.jitter_max_ms = (float(m.group(1)), int(m.group(2)),
                                                                 int(m.group(3)))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Total connect time is (\d+)", line)
        if m:
            s.connect_s = int(m.group(1))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Total transmit time is (\d+)", line)
        if m:
            s.transmit_s = int(m.group(1))
            s.summary_lines.append(line.strip())
            continue
        if re.search(r"\berror\b|ERROR|Cannot|cannot|Wrong integrity|unknown .* response", line):
            if len(s.errors) < 20:
                s.errors.append(line.strip())
    return s


# --------------------------------------------------------------------------------------------
# Test driver
# --------------------------------------------------------------------------------------------

class Context:
    """What a test body gets: parsed args, a scratch directory, checks, and helpers that make sure
    every daemon/background process is stopped and every daemon log is printed on failure."""

    def __init__(self, name: str, args: argparse.Namespace, workdir: str):
        self.name = name
        self.args = args
        self.workdir = workdir
        self.checks = Checks(name)
        self.daemons: list[Daemon] = []
        self.background: list[Background] = []
        self.tool_logs: list[tuple[str, str]] = []

    def check(self, cond: bool, what: str, detail: str = "") -> bool:
        return self.checks.check(cond, what, detail)

    def require(self, cond: bool, what: str, detail: str = "") -> None:
        self.checks.require(cond, what, detail)

    def start_daemon(self, config_fn: Callable[[PortBlock], dict] = base_config,
                     name: str = "turnpiked") -> Daemon:
        d = Daemon(self.args.daemon, self.workdir, name)
        self.daemons.append(d)
        d.start(config_fn)
        return d

    def stop_daemon(self, d: Daemon) -> None:
        """Stops with SIGTERM and checks the exit code is 0 (a crash earlier shows up here too)."""
        was_alive = d.alive()
        self.check(was_alive, f"{d.name} still running before shutdown", d.death_note())
        rc = d.stop()
        if was_alive:
            self.check(rc == 0, f"{d.name} exits 0 on SIGTERM", f"exit code {rc}")

    def spawn(self, cmd: list, name: str) -> Background:
        b = Background(cmd, os.path.join(self.workdir, f"{name}.log"))
        self.background.append(b)
        return b

    def tool(self, cmd: list, timeout_s: float, label: str) -> ToolResult:
        r = run_tool(cmd, timeout_s)
        self.tool_logs.append((label, r.output))
        status = "timed out" if r.timed_out else f"exit {r.rc}"
        print(f"  ({label}: {status} after {r.seconds:.1f} s)", flush=True)
        return r

    def print_tool_output(self, label: str, output: str, tail: int = 60) -> None:
        lines = output.splitlines()
        print(f"---- {label} output, last {min(tail, len(lines))} of {len(lines)} lines ----")
        for line in lines[-tail:]:
            print(line)
        print(f"---- end of {label} output ----", flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--daemon", required=True, help="path to the built turnpiked")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--no-rtcp", action="store_true",
                   help="pass -c to turnutils_uclient (no RTCP allocations: no EVEN-PORT R-bit / "
                        "RESERVATION-TOKEN)")
    return p.parse_args(argv)


def main(name: str, body: Callable[[Context], None], argv=None) -> int:
    """Runs a test body; returns the process exit code (0 pass, 1 fail)."""
    args = parse_args(argv)
    print(f"# integration test {name}", flush=True)
    if not (os.path.isfile(args.daemon) and os.access(args.daemon, os.X_OK)):
        print(f"FAIL: daemon binary {args.daemon!r} does not exist or is not executable")
        return 1
    workdir = tempfile.mkdtemp(prefix=f"turnpike-it-{name}-")
    ctx = Context(name, args, workdir)
    crashed = None
    try:
        body(ctx)
    except Fatal as e:
        crashed = ("aborted at the failed check above; remaining checks skipped" if e.recorded
                   else f"aborted: {e}")
    except Exception:  # a bug in the test itself or an unexpected situation: still report
        crashed = "exception in test:\n" + traceback.format_exc()
    finally:
        for b in ctx.background:
            b.stop()
        for d in ctx.daemons:
            if d.alive():
                d.kill()
    failed = bool(ctx.checks.failures) or crashed is not None
    if failed:
        for d in ctx.daemons:
            d.print_log()
        print(f"\n{name}: FAILED ({len(ctx.checks.failures)} failed checks, "
              f"{ctx.checks.passes} passed)")
        for f in ctx.checks.failures:
            print(f"  - {f}")
        if crashed:
            print(f"  - {crashed}")
        print(f"  scratch dir kept: {workdir}")
        return 1
    print(f"\n{name}: PASSED ({ctx.checks.passes} checks)")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


# --------------------------------------------------------------------------------------------
# turnutils_uclient relay runs (shared by the uclient_* tests)
# --------------------------------------------------------------------------------------------

def ensure_peer(ctx: Context, d: Daemon) -> int:
    """Starts turnutils_peer (a UDP echo on ports P and P+1) once per test; returns P."""
    if getattr(ctx, "_peer_port", None) is None:
        peer = find_tool("turnutils_peer")
        port = d.block.peer
        b = ctx.spawn([peer, "-p", str(port), "-L", LOOPBACK], "turnutils_peer")
        ctx.require(wait_udp_bound(port) and wait_udp_bound(port + 1),
                    f"turnutils_peer listening on {LOOPBACK}:{port} and :{port + 1}")
        ctx.require(b.alive(), "turnutils_peer is running")
        ctx._peer_port = port
    return ctx._peer_port


def uclient_run(ctx: Context, d: Daemon, label: str, cred_args: list, send_method: bool = False,
                n: int = 100, m: int = 4, length: int = 120, timeout_s: float = 60,
                transport_args: Iterable[str] = (), port: Optional[int] = None) -> UclientStats:
    """Runs turnutils_uclient through the daemon to a turnutils_peer echo and checks that every
    packet came back. Prints the summary lines and one RESULT line with the numbers.
    transport_args/port select another listener, e.g. (["-t"], d.tcp_address[1]) for TCP or
    (["-t", "-S"], d.tls_address[1]) for TLS (-S without -t would be DTLS)."""
    uclient = find_tool("turnutils_uclient")
    peer_port = ensure_peer(ctx, d)
    host, udp_port = d.address
    port = udp_port if port is None else port
    cmd = [uclient, *transport_args, *cred_args, "-e", LOOPBACK, "-r", str(peer_port),
           "-p", str(port),
           "-n", str(n), "-m", str(m), "-l", str(length)]
    if send_method:
        cmd.append("-s")
    if ctx.args.no_rtcp:
        cmd.append("-c")
    cmd.append(host)
    r = ctx.tool(cmd, timeout_s, label)
    stats = parse_uclient(r.output)
    # uclient starts clients in RTP/RTCP pairs unless -c; each session sends n messages.
    sessions = m if ctx.args.no_rtcp else m + (m % 2)
    expected = n * sessions
    print(f"  uclient summary ({label}):")
    for line in stats.summary_lines:
        print(f"    {line}")
    print(f"RESULT {ctx.name}/{label}: {stats.one_line()}", flush=True)
    ok = True
    ok &= ctx.check(not r.timed_out, f"{label}: uclient finished within {timeout_s:.0f} s")
    ok &= ctx.check(r.rc == 0, f"{label}: uclient exits 0", f"rc={r.rc}")
    ok &= ctx.check(stats.sent == expected, f"{label}: uclient sent {expected} packets",
                    f"sent={stats.sent}")
    ok &= ctx.check(stats.received == stats.sent and stats.received is not None,
                    f"{label}: received == sent", f"sent={stats.sent} received={stats.received}")
    ok &= ctx.check(stats.lost == 0, f"{label}: 0 lost packets", f"lost={stats.lost}")
    ok &= ctx.check(stats.send_dropped == 0, f"{label}: 0 send-dropped packets",
                    f"send_dropped={stats.send_dropped}")
    if stats.errors:
        print(f"  uclient error lines ({len(stats.errors)}): ")
        for e in stats.errors:
            print(f"    {e}")
    if not ok:
        ctx.print_tool_output(f"turnutils_uclient ({label})", r.output, tail=80)
    ctx.check(d.alive(), f"{label}: daemon still running after uclient", d.death_note())
    return stats


# --------------------------------------------------------------------------------------------
# Stream transports (TCP and TLS, RFC 8656 §3.1)
# --------------------------------------------------------------------------------------------

def make_self_signed_cert(workdir: str, name: str = "server") -> tuple[str, str]:
    """A throw-away RSA certificate for 127.0.0.1 (subjectAltName IP); returns (cert, key) paths."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Fatal("openssl not found (needed to make the test certificate)")
    cert = os.path.join(workdir, f"{name}.crt")
    key = os.path.join(workdir, f"{name}.key")
    r = run_tool([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                  "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                  "-addext", "subjectAltName=IP:127.0.0.1"], timeout_s=60)
    if r.rc != 0 or not os.path.isfile(cert) or not os.path.isfile(key):
        raise Fatal(f"openssl req failed (rc={r.rc}): {r.output.strip()[-300:]}")
    return cert, key


def stream_config(block: PortBlock, cert: Optional[str] = None, key: Optional[str] = None,
                  handshake_timeout: Optional[int] = None, **overrides) -> dict:
    """base_config plus a TCP listener (block.tcp_listener) and, with cert/key, a TLS listener
    (block.tls_listener) and the "tls" section."""
    cfg = base_config(block, **overrides)
    cfg["listeners"] = list(cfg["listeners"]) + [
        {"transport": "tcp", "address": LOOPBACK, "port": block.tcp_listener}]
    tls: dict = {}
    if cert is not None:
        cfg["listeners"].append({"transport": "tls", "address": LOOPBACK, "port": block.tls_listener})
        tls.update({"certificate": cert, "private_key": key})
    if handshake_timeout is not None:
        tls["handshake_timeout"] = handshake_timeout
    if tls:
        cfg["tls"] = tls
    return cfg


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


def udp_port_bound(port: int, ip: str = LOOPBACK) -> bool:
    """Whether a UDP socket is bound to ip:port, from `ss -uln` (falls back to a bind attempt)."""
    ss = shutil.which("ss")
    if ss is not None:
        try:
            out = subprocess.run([ss, "-H", "-u", "-l", "-n"], capture_output=True, timeout=5,
                                 check=True).stdout.decode("utf-8", "replace")
            for line in out.splitlines():
                cols = line.split()
                if len(cols) >= 4 and cols[3] in (f"{ip}:{port}", f"*:{port}", f"0.0.0.0:{port}"):
                    return True
            return False
        except (subprocess.SubprocessError, OSError):
            pass
    return not _port_free(port)


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


def split_channel_data(wire: bytes) -> tuple[int, bytes, bytes]:
    """(channel, payload, padding) of one ChannelData frame as read from a stream."""
    channel, length = struct.unpack("!HH", wire[:4])
    return channel, wire[4:4 + length], wire[4 + length:]


# --------------------------------------------------------------------------------------------
# The HTTP(S) credential service (credentials.*, /healthz, /metrics), used by creds_https,
# sighup_reload and metrics
# --------------------------------------------------------------------------------------------

import errno  # noqa: E402  (wait_peer_close above refers to it)
import ipaddress  # noqa: E402
import math  # noqa: E402
import email.utils  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

API_KEY_LABEL = "it-app"
API_KEY = "it-api-key-0123456789abcdef"  # >= 16 characters (credentials.api_keys[].key)
HTTP_LISTENER_OFFSET = 95  # PortBlock base + 95: free in the block layout above


def http_listener_port(block: PortBlock) -> int:
    """A TCP port of the block for an "http" listener (not used by anything else)."""
    return block.base + HTTP_LISTENER_OFFSET


def credentials_block(api_keys: Optional[list] = None, **overrides) -> dict:
    """A `credentials` config section: one API key (API_KEY_LABEL/API_KEY), hosts 127.0.0.1 and a
    per-IP limit high enough for a test's own requests; keyword arguments replace keys."""
    creds = {
        "api_keys": [{"label": API_KEY_LABEL, "key": API_KEY}] if api_keys is None else api_keys,
        "hosts": [LOOPBACK],
        "rate_limit": {"per_ip_per_minute": 1000, "per_key_per_minute": 1000},
    }
    creds.update(overrides)
    return creds


def credentials_config(block: PortBlock, cert: str, key: str, credentials: Optional[dict] = None,
                       http_listener: bool = False, tls_metrics: Optional[bool] = None,
                       **overrides) -> dict:
    """stream_config (UDP, TCP, TLS listeners) plus a `credentials` section; with http_listener,
    an "http" listener on http_listener_port(block) with "metrics": true; tls_metrics sets the TLS
    listener's "metrics" flag explicitly."""
    cfg = stream_config(block, cert=cert, key=key, **overrides)
    cfg["credentials"] = credentials_block() if credentials is None else credentials
    if tls_metrics is not None:
        for listener in cfg["listeners"]:
            if listener["transport"] == "tls":
                listener["metrics"] = tls_metrics
    if http_listener:
        cfg["listeners"].append({"transport": "http", "address": LOOPBACK,
                                 "port": http_listener_port(block), "metrics": True})
    return cfg


def make_cert(workdir: str, name: str, cn: str) -> tuple[str, str]:
    """Like make_self_signed_cert, with a chosen subject CN (a random serial, SAN IP:127.0.0.1).
    The certificate is its own CA, so `curl --cacert <cert>` verifies the server with it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Fatal("openssl not found (needed to make the test certificate)")
    cert = os.path.join(workdir, f"{name}.crt")
    key = os.path.join(workdir, f"{name}.key")
    r = run_tool([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                  "-out", cert, "-days", "2", "-subj", f"/CN={cn}",
                  "-addext", "subjectAltName=IP:127.0.0.1"], timeout_s=60)
    if r.rc != 0 or not os.path.isfile(cert) or not os.path.isfile(key):
        raise Fatal(f"openssl req failed (rc={r.rc}): {r.output.strip()[-300:]}")
    return cert, key


def cert_file_sha256(path: str) -> str:
    """SHA-256 fingerprint (hex) of the first certificate in a PEM file."""
    with open(path) as f:
        pem = f.read()
    end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem[:end] + "\n")).hexdigest()


def server_cert_sha256(server: tuple[str, int], timeout_s: float = 5.0) -> str:
    """SHA-256 fingerprint (hex) of the certificate a fresh TLS connection to server presents."""
    sock = connect_stream(server, tls=True, timeout_s=timeout_s)
    try:
        der = sock.getpeercert(binary_form=True)
    finally:
        sock.close()
    if der is None:
        raise Fatal(f"no certificate from {server[0]}:{server[1]}")
    return hashlib.sha256(der).hexdigest()


@dataclass
class HttpResult:
    status: Optional[int]          # None when curl failed (connection, TLS verification, timeout)
    headers: dict                  # lower-case name -> value (the last one when repeated)
    body: bytes
    curl_rc: Optional[int]
    curl_error: str

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        if self.status is None:
            return f"curl failed (rc={self.curl_rc}): {self.curl_error.strip()[:200]}"
        return f"HTTP {self.status} {self.text()[:300]!r}"


def curl(url: str, cacert: Optional[str] = None, method: Optional[str] = None,
         headers: Iterable[str] = (), data: Optional[str] = None, timeout_s: float = 10.0,
         extra: Iterable[str] = (), quiet: bool = False) -> HttpResult:
    """One HTTP(S) request with the curl binary (verifying the server against `cacert`).
    headers are "Name: value" strings. Never follows redirects."""
    exe = shutil.which("curl")
    if exe is None:
        raise Fatal("curl not found (scripts/deps.sh installs it)")
    tmp = tempfile.mkdtemp(prefix="turnpike-curl-")
    try:
        head_path, body_path = os.path.join(tmp, "head"), os.path.join(tmp, "body")
        cmd = [exe, "-sS", "--max-time", str(timeout_s), "-D", head_path, "-o", body_path,
               "-w", "%{http_code}"]
        if cacert is not None:
            cmd += ["--cacert", cacert]
        if method is not None:
            cmd += ["-X", method]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            cmd += ["--data-binary", data]
        cmd += list(extra) + [url]
        if not quiet:  # the interesting part of the command line, keys masked
            shown = ["curl"] + [
                (f"'{c.split(':', 1)[0]}: <key>'"
                 if c.lower().startswith(("authorization:", "x-api-key:"))
                 else f"'{c}'" if " " in c else c)
                for c in cmd[cmd.index("%{http_code}") + 1:]]
            print(f"  $ {' '.join(shown)}", flush=True)
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout_s + 10)
        code = proc.stdout.decode().strip()
        status = int(code) if proc.returncode == 0 and code.isdigit() and code != "000" else None
        hdrs: dict = {}
        if os.path.exists(head_path):
            with open(head_path, "rb") as f:
                blocks = f.read().decode("latin-1").replace("\r\n", "\n").strip().split("\n\n")
            for line in blocks[-1].split("\n")[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    hdrs[name.strip().lower()] = value.strip()
        body = b""
        if os.path.exists(body_path):
            with open(body_path, "rb") as f:
                body = f.read()
        return HttpResult(status, hdrs, body, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bearer(key: str = API_KEY) -> str:
    return f"Authorization: Bearer {key}"


def https_url(d: Daemon, path: str) -> str:
    host, port = d.tls_address
    return f"https://{host}:{port}{path}"


def rfc3339_utc(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822_to_unix(text: str) -> Optional[int]:
    try:
        return int(email.utils.parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError, IndexError):
        return None


def check_rest_credential(ctx: Context, what: str, username, password, secret: str, label: str,
                          now_unix: Optional[int] = None, ttl: Optional[int] = None) -> Optional[int]:
    """Checks a minted credential: username "<expiry>:<label>" and password
    base64(HMAC-SHA1(secret, username)); with now_unix/ttl, that expiry is now + ttl (+-5 s).
    Returns the expiry or None."""
    ok = ctx.check(isinstance(username, str) and isinstance(password, str),
                   f"{what}: username and password are strings", f"{username!r} / {password!r}")
    if not ok:
        return None
    m = re.fullmatch(r"(\d+):(.+)", username)
    ctx.check(m is not None and m.group(2) == label, f"{what}: username is \"<expiry>:{label}\"",
              username)
    if m is None:
        return None
    expiry = int(m.group(1))
    ctx.check(password == rest_password(secret, username),
              f"{what}: password == base64(HMAC-SHA1(secret, username)) computed here",
              f"got {password!r}, expected {rest_password(secret, username)!r}")
    if now_unix is not None and ttl is not None:
        ctx.check(abs(expiry - (now_unix + ttl)) <= 5, f"{what}: expiry is now + {ttl} s",
                  f"expiry {expiry}, now {now_unix}, difference {expiry - now_unix}")
    return expiry


# ---- Prometheus text exposition format 0.0.4 ----

PROM_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
_PROM_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_PROM_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_PROM_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN")


class PromFormatError(ValueError):
    pass


@dataclass
class PromFamily:
    name: str
    type: Optional[str] = None
    help: Optional[str] = None
    samples: list = field(default_factory=list)  # [(sample name, {label: value}, float)]


def _prom_unescape(text: str, quote: bool, where: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise PromFormatError(f"{where}: dangling backslash")
            n = text[i + 1]
            if n == "\\":
                out.append("\\")
            elif n == "n":
                out.append("\n")
            elif n == '"' and quote:
                out.append('"')
            else:
                raise PromFormatError(f"{where}: invalid escape \\{n}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _prom_family_of(sample: str, families: dict) -> Optional[PromFamily]:
    if sample in families:
        return families[sample]
    for suffix, types in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if sample.endswith(suffix):
            f = families.get(sample[:-len(suffix)])
            if f is not None and f.type in types:
                return f
    return None


def parse_prometheus(text: str, require_declared: bool = True) -> dict:
    """Strict parser of the Prometheus text format 0.0.4. Returns {family name: PromFamily}.
    Raises PromFormatError on: a line that is not '# HELP', '# TYPE', another comment or a sample;
    a bad metric or label name, a bad escape, a duplicate label name, a value that is not a Go
    float, a bad timestamp; HELP/TYPE given twice or TYPE after the family's samples; a TYPE
    that is not a known type; a sample of a family whose samples already ended (families must be
    contiguous); a duplicate series; a counter below 0; and, with require_declared, a sample
    whose family has no TYPE line. The text must end with a newline."""
    if text and not text.endswith("\n"):
        raise PromFormatError("the text does not end with a newline")
    families: dict = {}
    order: list = []  # family names in the order their samples/metadata appear
    series: set = set()
    closed: set = set()
    current: Optional[str] = None

    def enter(name: str, where: str) -> PromFamily:
        nonlocal current
        if current != name:
            if name in closed:
                raise PromFormatError(f"{where}: family {name} appears again after other families")
            if current is not None:
                closed.add(current)
            current = name
        if name not in families:
            families[name] = PromFamily(name)
            order.append(name)
        return families[name]

    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        where = f"line {lineno}"
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not _PROM_NAME.fullmatch(parts[2]):
                    raise PromFormatError(f"{where}: {parts[1]} without a valid metric name: {line!r}")
                fam = enter(parts[2], where)
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    if fam.help is not None:
                        raise PromFormatError(f"{where}: second HELP for {fam.name}")
                    fam.help = _prom_unescape(rest, quote=False, where=where)
                else:
                    if fam.type is not None:
                        raise PromFormatError(f"{where}: second TYPE for {fam.name}")
                    if fam.samples:
                        raise PromFormatError(f"{where}: TYPE for {fam.name} after its samples")
                    if rest.strip() not in PROM_TYPES:
                        raise PromFormatError(f"{where}: unknown type {rest!r} for {fam.name}")
                    fam.type = rest.strip()
            continue  # other comments are allowed
        m = _PROM_NAME.match(line)
        if m is None:
            raise PromFormatError(f"{where}: no metric name: {line!r}")
        name, pos = m.group(0), m.end()
        labels: dict = {}
        if pos < len(line) and line[pos] == "{":
            pos += 1
            while True:
                while pos < len(line) and line[pos] == " ":
                    pos += 1
                if pos < len(line) and line[pos] == "}":
                    pos += 1
                    break
                lm = _PROM_LABEL.match(line, pos)
                if lm is None:
                    raise PromFormatError(f"{where}: bad label name at column {pos + 1}: {line!r}")
                lname, pos = lm.group(0), lm.end()
                if line[pos:pos + 2] != '="':
                    raise PromFormatError(f"{where}: expected =\" after label {lname}: {line!r}")
                pos += 2
                start = pos
                while pos < len(line) and line[pos] != '"':
                    pos += 2 if line[pos] == "\\" else 1
                if pos >= len(line):
                    raise PromFormatError(f"{where}: unterminated label value: {line!r}")
                value = _prom_unescape(line[start:pos], quote=True, where=where)
                pos += 1
                if lname in labels:
                    raise PromFormatError(f"{where}: label {lname} given twice")
                labels[lname] = value
                if pos < len(line) and line[pos] == ",":
                    pos += 1
                    continue
                if pos < len(line) and line[pos] == "}":
                    pos += 1
                    break
                raise PromFormatError(f"{where}: expected , or }} after a label value: {line!r}")
        if pos >= len(line) or line[pos] not in " \t":
            raise PromFormatError(f"{where}: no value after the metric: {line!r}")
        fields = line[pos:].split()
        if len(fields) not in (1, 2):
            raise PromFormatError(f"{where}: expected 'value [timestamp]': {line!r}")
        if not _PROM_FLOAT.fullmatch(fields[0]):
            raise PromFormatError(f"{where}: value {fields[0]!r} is not a float")
        value_f = float(fields[0].replace("Inf", "inf").replace("NaN", "nan"))
        if len(fields) == 2 and not re.fullmatch(r"-?[0-9]+", fields[1]):
            raise PromFormatError(f"{where}: timestamp {fields[1]!r} is not an integer")
        fam = _prom_family_of(name, families)
        if fam is None:
            if require_declared:
                raise PromFormatError(f"{where}: sample {name} belongs to no declared family (no TYPE)")
            fam = PromFamily(name, "untyped")
            families[name] = fam
            order.append(name)
        enter(fam.name, where)
        if require_declared and fam.type is None:
            raise PromFormatError(f"{where}: sample {name} before its family's TYPE line")
        if fam.type == "counter" and not (value_f >= 0 or math.isnan(value_f)):
            raise PromFormatError(f"{where}: counter {name} is negative ({fields[0]})")
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise PromFormatError(f"{where}: duplicate series {name}{labels}")
        series.add(key)
        fam.samples.append((name, labels, value_f))
    return families


def prom_value(families: dict, name: str, **labels) -> Optional[float]:
    """The value of the sample `name` whose labels include `labels`; the sum when several match;
    None when the family or every matching sample is absent."""
    fam = _prom_family_of(name, families)
    if fam is None:
        return None
    found = [v for n, l, v in fam.samples
             if n == name and all(l.get(k) == str(val) for k, val in labels.items())]
    return sum(found) if found else None


def label_value_is_address(value: str) -> bool:
    """Whether a label value is (or contains) an IP address or address:port."""
    for token in re.split(r"[\s,;/\[\]]+", value):
        for candidate in (token, token.rsplit(":", 1)[0]):
            try:
                ipaddress.ip_address(candidate)
                return True
            except ValueError:
                pass
    return bool(re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", value))
