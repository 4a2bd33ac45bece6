#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/seed-*), from the
unit-test vectors: the RFC 5769 messages of tests/unit/stun/rfc5769_vectors.h, requests built the
way the unit and integration tests build them (tests/integration/turnpike_harness/), the HTTP requests of
tests/unit/http, and the configuration files. Deterministic: running it again rewrites the same
files. Regression inputs found by fuzzing live next to the seeds as regress-* and are kept."""

import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.dont_write_bytecode = True
from turnpike_harness import stun_codec  # noqa: E402

TID = bytes(range(1, 13))


def write(target: str, name: str, data: bytes) -> None:
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"seed-{name}"), "wb") as f:
        f.write(data)


def rfc5769_vectors() -> dict:
    text = open(os.path.join(ROOT, "tests", "unit", "stun", "rfc5769_vectors.h")).read()
    out = {}
    for m in re.finditer(r"std::array<uint8_t, \d+> (k\w+) = \{(.*?)\};", text, re.S):
        body = re.sub(r"//[^\n]*", "", m.group(2))
        out[m.group(1)] = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]{2}", body))
    return out


def requests() -> dict:
    """STUN/TURN messages as the tests send them (unauthenticated and long-term authenticated)."""
    key = stun_codec.long_term_key("alice", "turnpike", "alice-secret")
    nonce = b"obMatJos2gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    auth = [(stun_codec.A_USERNAME, b"alice"), (stun_codec.A_REALM, b"turnpike"), (stun_codec.A_NONCE, nonce)]
    udp = (stun_codec.A_REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))
    peer = (stun_codec.A_XOR_PEER_ADDRESS, stun_codec.XorAddr("93.184.216.34", 5000))
    t = stun_codec.make_type
    return {
        "binding": stun_codec.build_message(t(stun_codec.BINDING, stun_codec.REQUEST), tid=TID),
        "binding-nofp": stun_codec.build_message(t(stun_codec.BINDING, stun_codec.REQUEST), tid=TID, fingerprint=False),
        "allocate-first": stun_codec.build_message(t(stun_codec.ALLOCATE, stun_codec.REQUEST), tid=TID, attrs=[udp]),
        "allocate-auth": stun_codec.build_message(t(stun_codec.ALLOCATE, stun_codec.REQUEST), tid=TID,
                                                  attrs=[udp, (stun_codec.A_LIFETIME, struct.pack("!I", 600))] + auth,
                                                  key=key),
        "allocate-even-port": stun_codec.build_message(t(stun_codec.ALLOCATE, stun_codec.REQUEST), tid=TID,
                                                       attrs=[udp, (stun_codec.A_EVEN_PORT, b"\x80")] + auth, key=key),
        "refresh-0": stun_codec.build_message(t(stun_codec.REFRESH, stun_codec.REQUEST), tid=TID,
                                              attrs=[(stun_codec.A_LIFETIME, b"\0\0\0\0")] + auth, key=key),
        "create-permission": stun_codec.build_message(t(stun_codec.CREATE_PERMISSION, stun_codec.REQUEST), tid=TID,
                                                      attrs=[peer] + auth, key=key),
        "channel-bind": stun_codec.build_message(t(stun_codec.CHANNEL_BIND, stun_codec.REQUEST), tid=TID,
                                                 attrs=[(stun_codec.A_CHANNEL_NUMBER, b"\x40\x01\0\0"), peer] + auth,
                                                 key=key),
        "send-indication": stun_codec.build_message(t(stun_codec.SEND, stun_codec.INDICATION), tid=TID,
                                                    attrs=[peer, (stun_codec.A_DATA, b"hello")]),
        "error-401": stun_codec.build_message(t(stun_codec.ALLOCATE, stun_codec.ERROR), tid=TID,
                                              attrs=[(stun_codec.A_ERROR_CODE,
                                                      stun_codec.error_code_value(401, "Unauthorized")),
                                                     (stun_codec.A_REALM, b"turnpike"), (stun_codec.A_NONCE, nonce)]),
        "success-xor-v6": stun_codec.build_message(t(stun_codec.BINDING, stun_codec.SUCCESS), tid=TID,
                                                   attrs=[(stun_codec.A_XOR_MAPPED_ADDRESS,
                                                           stun_codec.XorAddr("2001:db8::10", 40000))]),
    }


def turn_script() -> list:
    """Scripts for turn_server_fuzz (its Input format): op, tuple, then per op."""
    def auth_req(tuple_idx, method_idx, attrs, flags=0x81):
        out = bytes([2, tuple_idx, flags, method_idx]) + TID + bytes([len(attrs)])
        for a in attrs:
            out += a
        return out
    transport = bytes([0, 17])                 # kind 0: REQUESTED-TRANSPORT, UDP
    lifetime0 = bytes([1, 4, 0, 0, 0, 0])      # kind 1: LIFETIME 0 (4 raw bytes)
    peer = bytes([2, 0])                       # kind 2: XOR-PEER-ADDRESS, peer 0
    channel = bytes([3, 1])                    # kind 3: CHANNEL-NUMBER 0x4001
    even = bytes([4, 1, 0x80])                 # kind 4: EVEN-PORT R
    allocate = auth_req(0, 0, [transport])
    bind = auth_req(0, 3, [channel, peer])
    data = bytes([7, 0, 1, 0, 8]) + b"payload!" + bytes([0])
    from_peer = bytes([4, 0, 0, 0, 0, 4]) + b"pong"
    tick = bytes([5, 0, 30, 0])
    return [
        ("allocate-bind-relay", allocate + bind + data + from_peer + tick),
        ("allocate-permission-send", allocate + auth_req(0, 2, [peer]) +
         auth_req(0, 5, [peer, bytes([9, 3]) + b"abc"], flags=0x80)),
        ("allocate-even-port-then-refresh-0", auth_req(1, 0, [transport, even]) +
         auth_req(1, 1, [lifetime0])),
        ("tcp-allocate-close", auth_req(3, 0, [transport]) + bytes([6, 3])),
        ("sha256-allocate", auth_req(2, 0, [transport], flags=0x85)),
        ("unauthenticated", auth_req(0, 0, [transport], flags=0x80) + auth_req(0, 4, [], flags=0)),
        ("stale-nonce", auth_req(0, 0, [transport], flags=0xA1)),
    ]


def http_requests() -> dict:
    key = "mobile-key-0123456789"
    return {
        "get-credentials": f"GET /turn-credentials?ttl=3600 HTTP/1.1\r\nHost: t\r\n"
                           f"Authorization: Bearer {key}\r\n\r\n".encode(),
        "post-json": (f"POST /turn-credentials HTTP/1.1\r\nHost: t\r\nX-API-Key: {key}\r\n"
                      "Content-Type: application/json\r\nContent-Length: 27\r\n\r\n"
                      '{"ttl": 60, "format": "tw"}').encode(),
        "post-form-chunked": (f"POST /turn-credentials HTTP/1.1\r\nHost: t\r\nX-API-Key: {key}\r\n"
                              "Content-Type: application/x-www-form-urlencoded\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n6\r\nTtl=60\r\n0\r\n\r\n").encode(),
        "preflight": ("OPTIONS /turn-credentials HTTP/1.1\r\nHost: t\r\n"
                      "Origin: https://app.example.com\r\nAccess-Control-Request-Method: GET\r\n"
                      "\r\n").encode(),
        "pipelined-health-metrics": ("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                                     "GET /metrics HTTP/1.0\r\n\r\n").encode(),
        "anonymous-username": b"GET /turn-credentials?username=bob&format=cloudflare HTTP/1.1\r\n"
                              b"Host: t\r\nConnection: close\r\n\r\n",
    }


def configs() -> dict:
    out = {"example": open(os.path.join(ROOT, "config", "turnpike.json"), "rb").read()}
    out["minimal"] = b'{"relay": {"address": "192.0.2.10"}, "auth": {"static_users": {"a": "b"}}}'
    out["everything"] = b"""{
  "listeners": [{"transport": "tcp", "address": "::1", "port": 3479},
                {"transport": "tls", "address": "192.0.2.1", "proxy_protocol": true,
                 "proxy_protocol_from": ["127.0.0.1", "10.0.0.0/8"]},
                {"transport": "http", "address": "127.0.0.1", "metrics": true}, {}],
  "relay": {"address": "192.0.2.10", "advertised_address": "198.51.100.7",
            "ipv6_address": "2001:db8::10", "port_min": 50000, "port_max": 50100},
  "auth": {"realm": "example.org", "static_users": {"alice": "pw1"}, "rest_secrets": ["s1"],
           "rest_separator": "|", "nonce_lifetime": 30, "password_algorithms": false},
  "allocation": {"default_lifetime": 60, "max_lifetime": 120, "max_total": 5},
  "peers": {"allow": ["10.1.0.0/16"], "deny": ["2001:db8::/32"], "allow_listeners": false},
  "limits": {"max_connections": 500, "max_connections_per_ip": 8,
             "max_bandwidth_per_allocation": 0, "unauthenticated_requests_per_second": 5,
             "unauthenticated_burst": 7, "stream_idle_timeout": 45},
  "shutdown": {"grace_period": 30},
  "tls": {"certificate": "/c.pem", "private_key": "/k.pem", "handshake_timeout": 7},
  "credentials": {"api_keys": [{"label": "app", "key": "0123456789abcdef"}], "hosts": ["h"],
                  "rate_limit": {"per_ip_per_minute": 0}},
  "workers": 2, "user": "turnpike", "log": {"level": "debug"}, "software": ""
}"""
    out["errors"] = b'{"listeners": [{"port": 70000}], "auth": {"relam": 1}, "limits": {"x": 1}}'
    return out


def proxy_headers() -> dict:
    """First bytes of connections on a PROXY-protocol listener (nginx sends v1, HAProxy v2)."""
    sig = bytes([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A])

    def v2(command: int, family: int, body: bytes) -> bytes:
        return sig + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body

    v4 = bytes([198, 51, 100, 7, 127, 0, 0, 1]) + struct.pack("!HH", 40000, 3478)
    v6 = bytes.fromhex("20010db8000000000000000000000010") + bytes(15) + b"\x01" + struct.pack("!HH", 40000, 443)
    tlv = bytes([0x01, 0x00, 0x02]) + b"h2" + bytes([0x04, 0x00, 0x03]) + b"\x00\x00\x00"
    binding = stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST), tid=TID)
    return {
        "v1-tcp4": b"PROXY TCP4 198.51.100.7 127.0.0.1 40000 3478\r\n",
        "v1-tcp6-then-binding": b"PROXY TCP6 2001:db8::10 ::1 40000 3478\r\n" + binding,
        "v1-unknown": b"PROXY UNKNOWN\r\n",
        "v1-too-long": b"PROXY TCP4 " + b"1" * 120 + b"\r\n",
        "v2-tcp4-then-binding": v2(1, 0x11, v4) + binding,
        "v2-tcp6": v2(1, 0x21, v6),
        "v2-tlv": v2(1, 0x11, v4 + tlv),
        "v2-local": v2(0, 0x00, b""),
        "tls-client-hello": bytes([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]),
    }


def main() -> None:
    vectors = rfc5769_vectors()
    assert len(vectors) == 4, vectors.keys()
    msgs = requests()
    for name, data in list(vectors.items()) + list(msgs.items()):
        write("stun_message_fuzz", name, data)
    write("stun_message_fuzz", "channel-data", stun_codec.channel_data(0x4001, b"hello", pad=False))
    # Stream framer: a cut seed byte, then frames back to back (ChannelData padded, as on TCP).
    stream = (msgs["allocate-auth"] + stun_codec.channel_data(0x4001, b"odd-len") + msgs["binding"]
              + stun_codec.channel_data(0x7fff, b""))
    write("stream_framer_fuzz", "mixed", b"\x07" + stream)
    write("stream_framer_fuzz", "rfc5769-long-term", b"\x01" + vectors["kLongTermRequest"])
    write("stream_framer_fuzz", "garbage-after-frame", b"\x03" + msgs["binding"] + b"GET / HTTP")
    for name, data in turn_script():
        write("turn_server_fuzz", name, data)
    for name, data in http_requests().items():
        write("http_session_fuzz", name, b"\x2a" + data)
    for name, data in configs().items():
        write("config_fuzz", name, data)
    for name, data in proxy_headers().items():
        write("proxy_protocol_fuzz", name, data)


if __name__ == "__main__":
    main()
