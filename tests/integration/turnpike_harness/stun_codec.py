"""The STUN/TURN wire format (RFC 8489 / RFC 8656), written independently of the server's codec:
message types, attributes, XOR addresses, MESSAGE-INTEGRITY (long-term key) and FINGERPRINT,
ChannelData frames, and a strict parser."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
import zlib
from dataclasses import dataclass
from typing import Iterable, Optional

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


def split_channel_data(wire: bytes) -> tuple[int, bytes, bytes]:
    """(channel, payload, padding) of one ChannelData frame as read from a stream."""
    channel, length = struct.unpack("!HH", wire[:4])
    return channel, wire[4:4 + length], wire[4 + length:]
