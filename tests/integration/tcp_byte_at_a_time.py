#!/usr/bin/env python3
"""A TCP client that writes ONE byte per send() (TCP_NODELAY, a short sleep between bytes), so the
server's stream framer sees every message in 1-byte reads:
 1. authenticated Allocate (401 challenge, then the request with MESSAGE-INTEGRITY) -> success;
 2. CreatePermission and ChannelBind for a UDP echo socket of this test (127.0.0.1) -> success;
 3. ChannelData frames padded to 4 bytes (payloads of 0..9, 100, 1001, 1500 bytes) reach the peer
    intact, and the peer's replies come back as ChannelData padded to a multiple of 4 (an empty
    datagram from the peer as a 4-byte ChannelData with Length 0, checked last);
 4. a burst of ChannelData frames in one send() and split at odd offsets;
 5. two requests in one send() are both answered, and a request glued to the first half of the
    next one, then the second half; 50 requests in one send() are all answered;
 6. over TLS, one byte per send() (one byte per TLS record): Allocate, ChannelBind, ChannelData.
Requests over a stream are sent once (no retransmission), so every answer must come the first
time."""

import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon, daemon_config, net, runner,  # noqa: E402
                              stun_codec, turn_client)

CHANNEL = 0x4001
PAYLOAD_SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 1001, 1500]


class Echo:
    """The peer: a UDP socket on 127.0.0.1 that the test reads and answers explicitly."""

    def __init__(self, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((net.LOOPBACK, port))
        self.addr = self.sock.getsockname()

    def recv(self, timeout_s: float = 3.0):
        self.sock.settimeout(timeout_s)
        try:
            return self.sock.recvfrom(65535)
        except socket.timeout:
            return None, None

    def close(self) -> None:
        self.sock.close()


def payload(size: int, seed: int) -> bytes:
    return bytes((seed * 31 + i * 7) & 0xFF for i in range(size))


def check_channel_frame(ctx: runner.Context, wire, want: bytes, label: str) -> bool:
    if wire is None:
        return ctx.check(False, f"{label}: ChannelData comes back over the stream",
                         "nothing received")
    channel, data, padding = stun_codec.split_channel_data(wire)
    ok = ctx.check(channel == CHANNEL and data == want,
                   f"{label}: ChannelData {CHANNEL:#06x} with the peer's {len(want)} bytes",
                   f"channel {channel:#06x}, {len(data)} bytes, first {data[:8].hex()}")
    ok &= ctx.check(len(wire) % 4 == 0 and len(padding) == stun_codec.pad4(len(want)) - len(want),
                    f"{label}: frame padded to a multiple of 4 ({len(wire)} bytes on the wire)",
                    f"{len(wire)} bytes, padding {len(padding)}")
    return ok


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: daemon_config.stream_config(b, cert=cert, key=key))
    echo = Echo(d.block.spare)
    try:
        run(ctx, d, echo)
    finally:
        echo.close()
    ctx.stop_daemon(d)


def run(ctx: runner.Context, d: daemon.Daemon, echo: Echo) -> None:
    checks.section("Allocate, one byte per send()")
    with turn_client.StreamTurnClient(d.tcp_address, byte_at_a_time=True) as c:
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS,
                    "authenticated Allocate over TCP (401 then success)", checks.describe(resp))
        ctx.check(resp.integrity_ok(c.key) is True, "Allocate success has a valid MESSAGE-INTEGRITY")
        ctx.check(c.relayed is not None and c.relayed[0] == net.LOOPBACK
                  and d.block.relay_min <= c.relayed[1] <= d.block.relay_max,
                  "XOR-RELAYED-ADDRESS is 127.0.0.1 in the configured range", str(c.relayed))
        mapped = resp.xor_address(stun_codec.A_XOR_MAPPED_ADDRESS)
        ctx.check(mapped == c.local, "XOR-MAPPED-ADDRESS is the client's TCP address",
                  f"{mapped} vs {c.local}")
        relayed = c.relayed

        checks.section("CreatePermission and ChannelBind, one byte per send()")
        resp = c.create_permission([echo.addr])
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "CreatePermission -> success",
                  checks.describe(resp))
        resp = c.channel_bind(CHANNEL, echo.addr)
        ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS, f"ChannelBind {CHANNEL:#06x} -> success",
                    checks.describe(resp))

        checks.section("ChannelData both ways, one byte per send()")
        for i, size in enumerate(PAYLOAD_SIZES):
            data = payload(size, i)
            frame = stun_codec.channel_data(CHANNEL, data, pad=True)
            c.send_raw(frame)
            got, src = echo.recv()
            ctx.check(got == data and src == relayed,
                      f"{size}-byte ChannelData ({len(frame)} bytes padded) reaches the peer from "
                      f"the relayed address",
                      f"got {None if got is None else len(got)} bytes from {src}")
            if size == 0:
                continue  # an empty datagram from the peer: checked last (see below)
            reply = payload(size, 100 + i)
            echo.sock.sendto(reply, relayed)
            check_channel_frame(ctx, c.recv_raw(3.0), reply, f"reply of {size} bytes")

        checks.section("a burst of ChannelData frames in one send(), then the same split at odd offsets")
        c.byte_at_a_time = False
        sizes = [1, 2, 3, 4, 5, 6, 7, 33]
        burst = b"".join(stun_codec.channel_data(CHANNEL, payload(s, 200 + s)) for s in sizes)
        for label, pieces in (("one send()", [burst]),
                              ("split at 1, 6, 11, 23",
                               [burst[:1], burst[1:6], burst[6:11], burst[11:23], burst[23:]])):
            for piece in pieces:
                c.send_raw(piece)
                time.sleep(0.01)
            got = []
            for _ in sizes:
                data, _src = echo.recv()
                if data is None:
                    break
                got.append(data)
            ctx.check(got == [payload(s, 200 + s) for s in sizes],
                      f"{label}: the peer gets all {len(sizes)} payloads in order",
                      f"got sizes {[len(g) for g in got]}")

        checks.section("two requests in one send()")
        b1 = stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))
        attrs = [(stun_codec.A_XOR_PEER_ADDRESS, stun_codec.XorAddr(*echo.addr))] + c.auth_attrs()
        perm = stun_codec.build_message(
            stun_codec.make_type(stun_codec.CREATE_PERMISSION, stun_codec.REQUEST), attrs=attrs, key=c.key)
        c.send_raw(b1 + perm)
        answers = {}
        for _ in range(2):
            m = stun_codec.try_parse(c.recv_raw(3.0))
            if m is not None:
                answers[m.tid] = m
        r1, r2 = answers.get(b1[8:20]), answers.get(perm[8:20])
        ctx.check(r1 is not None and r1.cls == stun_codec.SUCCESS and r1.method == stun_codec.BINDING,
                  "Binding (first in the send) answered with success", checks.describe(r1))
        ctx.check(r2 is not None and r2.cls == stun_codec.SUCCESS and r2.method == stun_codec.CREATE_PERMISSION,
                  "CreatePermission (second in the send) answered with success", checks.describe(r2))

        b2 = stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))
        b3 = stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))
        c.send_raw(b2 + b3[:7])
        m2 = stun_codec.try_parse(c.recv_raw(3.0))
        ctx.check(m2 is not None and m2.tid == b2[8:20] and m2.cls == stun_codec.SUCCESS,
                  "a request followed by 7 bytes of the next is answered at once", checks.describe(m2))
        time.sleep(0.05)
        c.send_raw(b3[7:])
        m3 = stun_codec.try_parse(c.recv_raw(3.0))
        ctx.check(m3 is not None and m3.tid == b3[8:20] and m3.cls == stun_codec.SUCCESS,
                  "... and the next one once its rest arrives", checks.describe(m3))

        msgs = [stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))
                for _ in range(50)]
        c.send_raw(b"".join(msgs))
        tids = set()
        for _ in msgs:
            m = stun_codec.try_parse(c.recv_raw(3.0))
            if m is None:
                break
            tids.add(m.tid)
        ctx.check(tids == {m[8:20] for m in msgs}, "50 Binding requests in one send() all answered",
                  f"{len(tids)} answered")

        checks.section("the connection is still usable")
        resp = c.refresh(600)
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Refresh -> success", checks.describe(resp))
        ctx.check(c.eof is None and c.garbage is None, "server kept the stream open and framed",
                  f"eof={c.eof} garbage={c.garbage!r}")

        checks.section("TLS: Allocate with one byte per send() (so one byte per TLS record)")
        with turn_client.StreamTurnClient(d.tls_address, tls=True, byte_at_a_time=True) as t:
            resp = t.allocate("alice", daemon_config.STATIC_USERS["alice"])
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS and t.relayed is not None,
                      "authenticated Allocate over TLS (401 then success)", checks.describe(resp))
            resp = t.channel_bind(CHANNEL, echo.addr)
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "ChannelBind over TLS -> success",
                      checks.describe(resp))
            if t.relayed is not None:
                t.send_raw(stun_codec.channel_data(CHANNEL, b"tls-odd"))
                got, src = echo.recv()
                ctx.check(got == b"tls-odd" and src == t.relayed,
                          "7-byte ChannelData over TLS reaches the peer", repr(got))
                echo.sock.sendto(b"back!", t.relayed)
                check_channel_frame(ctx, t.recv_raw(3.0), b"back!", "TLS reply of 5 bytes")

        # A zero-length UDP datagram is a datagram: RFC 8656 §11.3/§12.4 relay "the application
        # data" whatever its length, so it comes back as a ChannelData with Length 0 (4 bytes).
        checks.section("an empty UDP datagram from the peer")
        echo.sock.sendto(b"", relayed)
        check_channel_frame(ctx, c.recv_raw(2.0), b"",
                            "empty datagram from the peer (ChannelData, Length 0)")
    ctx.check(d.alive(), "daemon still running", d.death_note())


if __name__ == "__main__":
    sys.exit(runner.main("tcp_byte_at_a_time", body))
