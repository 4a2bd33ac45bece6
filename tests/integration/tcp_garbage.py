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
import harness as h  # noqa: E402

CLOSE_WITHIN_S = 1.0  # garbage must not wait for the 10 s handshake timeout


def expect_closed(ctx: h.Context, label: str, sock, what_sent: str) -> None:
    waited, how = h.wait_peer_close(sock, CLOSE_WITHIN_S)
    ctx.check(waited is not None, f"{label}: closed within {CLOSE_WITHIN_S} s after {what_sent}",
              "still open" if waited is None else how)
    if waited is not None:
        print(f"        ({how} after {waited * 1000:.0f} ms)")
    sock.close()


def send_and_expect_closed(ctx: h.Context, label: str, sock, junk: bytes) -> None:
    try:
        sock.sendall(junk)
    except OSError as e:  # already reset: that is a close too
        ctx.check(True, f"{label}: connection reset while sending ({e})")
        sock.close()
        return
    expect_closed(ctx, label, sock, f"{junk[:12]!r}")


def body(ctx: h.Context) -> None:
    cert, key = h.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: h.stream_config(b, cert=cert, key=key, handshake_timeout=10))

    h.section("junk as the first bytes of a TCP connection")
    send_and_expect_closed(ctx, "0x80 junk", h.connect_stream(d.tcp_address), b"\x80\x01garbage")
    send_and_expect_closed(ctx, "0xFF HTTP-like junk", h.connect_stream(d.tcp_address),
                           b"\xff\xfeGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    send_and_expect_closed(ctx, "0xC0 junk", h.connect_stream(d.tcp_address), b"\xc0" * 64)

    h.section("junk after a valid request on the same connection")
    c = h.StreamTurnClient(d.tcp_address)
    resp = c.binding()
    ctx.check(resp is not None and resp.cls == h.SUCCESS, "Binding over TCP answered first",
              h.describe(resp))
    send_and_expect_closed(ctx, "junk after a Binding", c.sock, b"\xc0\x00junk-after-stun")

    h.section("STUN header with a length that is not a multiple of 4")
    bad = struct.pack("!HHI", 0x0001, 7, h.MAGIC_COOKIE) + h.new_tid() + b"abcdefg"
    send_and_expect_closed(ctx, "STUN length 7", h.connect_stream(d.tcp_address), bad)

    h.section("junk one byte at a time")
    s = h.connect_stream(d.tcp_address)
    try:
        for b in b"\x80\x01ga":
            s.sendall(bytes([b]))
            time.sleep(0.02)
    except OSError:
        pass
    expect_closed(ctx, "0x80 junk, 1 byte per send", s, "4 bytes")

    h.section("junk inside TLS")
    send_and_expect_closed(ctx, "TLS, 0x80 junk", h.connect_stream(d.tls_address, tls=True),
                           b"\x80\x01garbage")
    c = h.StreamTurnClient(d.tls_address, tls=True)
    resp = c.binding()
    ctx.check(resp is not None and resp.cls == h.SUCCESS, "Binding over TLS answered first",
              h.describe(resp))
    send_and_expect_closed(ctx, "TLS, junk after a Binding", c.sock, b"\xff" * 40)

    h.section("plaintext STUN on the TLS port")
    send_and_expect_closed(ctx, "plaintext Binding to the TLS port", h.connect_stream(d.tls_address),
                           h.build_message(h.make_type(h.BINDING, h.REQUEST)))

    h.section("still serving")
    ctx.check(d.alive(), "daemon alive after the junk", d.death_note())
    with h.TurnClient(d.address) as u:
        resp = u.binding()
        ctx.check(resp is not None and resp.cls == h.SUCCESS, "Binding over UDP", h.describe(resp))
    with h.StreamTurnClient(d.tls_address, tls=True) as c:
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == h.SUCCESS, "Binding over TLS", h.describe(resp))
    with h.StreamTurnClient(d.tcp_address) as c:
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == h.SUCCESS, "Binding over TCP", h.describe(resp))
        resp = c.allocate("alice", h.STATIC_USERS["alice"])
        ctx.check(resp is not None and resp.cls == h.SUCCESS, "Allocate over TCP",
                  h.describe(resp))
    n = d.log_text().count("not STUN, closing")
    print(f"  daemon logged {n} 'not STUN, closing' lines")
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(h.main("tcp_garbage", body))
