#!/usr/bin/env python3
"""A stream that is not STUN/ChannelData is closed at once (RFC 8656 §3.1; the framer rejects a
first byte 0b10xxxxxx/0b11xxxxxx and a STUN length that is not a multiple of 4), long before the
handshake timeout (10 s here), and the daemon keeps serving:
 1. TCP: b"\\x80\\x01garbage" as the first bytes -> closed within 1 s;
 2. TCP: an HTTP-like request starting with 0xFF bytes -> closed within 1 s;
 3. TCP: a valid Binding (answered), then b"\\xC0..." junk on the same connection -> closed;
 4. TCP: a STUN header whose length is 7 (not a multiple of 4) -> closed;
 5. TCP: junk sent one byte at a time -> closed once the first 4 bytes are in;
 6. TLS: the same junk inside an established TLS session -> closed;
 7. TLS port: a plaintext STUN Binding instead of a ClientHello -> closed (handshake failure);
then Binding over UDP, TCP and TLS, and an Allocate over TCP, still succeed."""

import struct
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon_config, runner, streams,  # noqa: E402
                              stun_codec, turn_client)

CLOSE_WITHIN_S = 1.0  # garbage must not wait for the 10 s handshake timeout


def expect_closed(ctx: runner.Context, label: str, sock, what_sent: str) -> None:
    waited, how = streams.wait_peer_close(sock, CLOSE_WITHIN_S)
    ctx.check(waited is not None, f"{label}: closed within {CLOSE_WITHIN_S} s after {what_sent}",
              "still open" if waited is None else how)
    if waited is not None:
        print(f"        ({how} after {waited * 1000:.0f} ms)")
    sock.close()


def send_and_expect_closed(ctx: runner.Context, label: str, sock, junk: bytes) -> None:
    try:
        sock.sendall(junk)
    except OSError as e:  # already reset: that is a close too
        ctx.check(True, f"{label}: connection reset while sending ({e})")
        sock.close()
        return
    expect_closed(ctx, label, sock, f"{junk[:12]!r}")


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: daemon_config.stream_config(b, cert=cert, key=key, handshake_timeout=10))

    checks.section("junk as the first bytes of a TCP connection")
    send_and_expect_closed(ctx, "0x80 junk", streams.connect_stream(d.tcp_address), b"\x80\x01garbage")
    send_and_expect_closed(ctx, "0xFF HTTP-like junk", streams.connect_stream(d.tcp_address),
                           b"\xff\xfeGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    send_and_expect_closed(ctx, "0xC0 junk", streams.connect_stream(d.tcp_address), b"\xc0" * 64)

    checks.section("junk after a valid request on the same connection")
    c = turn_client.StreamTurnClient(d.tcp_address)
    resp = c.binding()
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding over TCP answered first",
              checks.describe(resp))
    send_and_expect_closed(ctx, "junk after a Binding", c.sock, b"\xc0\x00junk-after-stun")

    checks.section("STUN header with a length that is not a multiple of 4")
    bad = struct.pack("!HHI", 0x0001, 7, stun_codec.MAGIC_COOKIE) + stun_codec.new_tid() + b"abcdefg"
    send_and_expect_closed(ctx, "STUN length 7", streams.connect_stream(d.tcp_address), bad)

    checks.section("junk one byte at a time")
    s = streams.connect_stream(d.tcp_address)
    try:
        for b in b"\x80\x01ga":
            s.sendall(bytes([b]))
            time.sleep(0.02)
    except OSError:
        pass
    expect_closed(ctx, "0x80 junk, 1 byte per send", s, "4 bytes")

    checks.section("junk inside TLS")
    send_and_expect_closed(ctx, "TLS, 0x80 junk", streams.connect_stream(d.tls_address, tls=True),
                           b"\x80\x01garbage")
    c = turn_client.StreamTurnClient(d.tls_address, tls=True)
    resp = c.binding()
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding over TLS answered first",
              checks.describe(resp))
    send_and_expect_closed(ctx, "TLS, junk after a Binding", c.sock, b"\xff" * 40)

    checks.section("plaintext STUN on the TLS port")
    send_and_expect_closed(ctx, "plaintext Binding to the TLS port", streams.connect_stream(d.tls_address),
                           stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST)))

    checks.section("still serving")
    ctx.check(d.alive(), "daemon alive after the junk", d.death_note())
    with turn_client.TurnClient(d.address) as u:
        resp = u.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding over UDP", checks.describe(resp))
    with turn_client.StreamTurnClient(d.tls_address, tls=True) as c:
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding over TLS", checks.describe(resp))
    with turn_client.StreamTurnClient(d.tcp_address) as c:
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding over TCP", checks.describe(resp))
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Allocate over TCP",
                  checks.describe(resp))
    n = d.log_text().count("not STUN, closing")
    print(f"  daemon logged {n} 'not STUN, closing' lines")
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("tcp_garbage", body))
