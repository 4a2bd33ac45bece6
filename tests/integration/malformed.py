#!/usr/bin/env python3
"""Malformed input and protocol error paths, sent with a raw Python STUN/TURN client.

Part 1 - malformed datagrams. For each, turnpiked must either answer per RFC 8489 (400 Bad
Request where a response is possible) or stay silent (§6.3: not-STUN / bad cookie / bad
FINGERPRINT are dropped); afterwards a valid Binding is still answered and the process is alive.

Part 2 - TURN error responses: 401 with REALM+NONCE, wrong password 401, REQUESTED-TRANSPORT TCP
442, missing REQUESTED-TRANSPORT 400, second Allocate on the same 5-tuple 437, CreatePermission to a
denied peer 403, tampered NONCE 438/401, bad channel number 400; plus data-path controls (Send
indication, ChannelData, no relaying without permission, nothing relayed for an unbound channel).
"""

import random
import socket
import struct
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, daemon, daemon_config, net, runner, stun_codec,  # noqa: E402
                              turn_client)

SILENCE_S = 0.5


def valid_binding(tid=None, **kw) -> bytes:
    return stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST), tid=tid, **kw)


def expect(ctx: runner.Context, c: turn_client.TurnClient, label: str, data: bytes, allow_400: bool,
           allow_any: bool = False) -> None:
    """Sends one datagram; passes on silence, or (when allow_400) on a 400 error response, or
    (allow_any, for cases the RFC leaves open) on any well-formed response."""
    c.send_raw(data)
    replies = c.drain(SILENCE_S)
    if not replies:
        ctx.check(True, f"{label}: dropped silently")
        return
    msgs = [stun_codec.try_parse(r) for r in replies]
    if allow_any:
        ctx.check(all(m is not None for m in msgs), f"{label}: answered with a well-formed message",
                  "; ".join(checks.describe(m) for m in msgs))
        print(f"        ({'; '.join(checks.describe(m) for m in msgs)})")
    elif allow_400:
        ok = all(m is not None and m.cls == stun_codec.ERROR and m.code() == 400 and m.tid == data[8:20]
                 for m in msgs)
        ctx.check(ok, f"{label}: answered with 400 Bad Request",
                  "; ".join(checks.describe(m) if m else f"unparseable {r[:24].hex()}"
                            for m, r in zip(msgs, replies)))
    else:
        ctx.check(False, f"{label}: must be dropped silently",
                  "got " + "; ".join(checks.describe(m) if m else f"unparseable {r[:24].hex()}"
                                     for m, r in zip(msgs, replies)))


class Peer:
    """A UDP socket standing in for a TURN peer."""

    def __init__(self, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((net.LOOPBACK, port))
        self.addr = self.sock.getsockname()

    def recv(self, timeout_s: float):
        self.sock.settimeout(timeout_s)
        try:
            return self.sock.recvfrom(65535)
        except socket.timeout:
            return None, None

    def close(self):
        self.sock.close()


def part1_malformed(ctx: runner.Context, d: daemon.Daemon) -> None:
    checks.section("malformed datagrams")
    with turn_client.TurnClient(d.address) as c:
        good = valid_binding()
        expect(ctx, c, "6-byte datagram", good[:6], allow_400=False)
        expect(ctx, c, "19-byte truncated header", good[:19], allow_400=False)

        tid = stun_codec.new_tid()
        msg = struct.pack("!HHI", 0x0001, 2, stun_codec.MAGIC_COOKIE) + tid + b"\x00\x00"
        expect(ctx, c, "length field 2 (not a multiple of 4)", msg, allow_400=True)

        tid = stun_codec.new_tid()
        msg = (struct.pack("!HHI", 0x0001, 64, stun_codec.MAGIC_COOKIE) + tid
               + stun_codec.encode_attr(stun_codec.A_SOFTWARE, b"abcd"))
        expect(ctx, c, "length field 64 > datagram body 8", msg, allow_400=True)

        tid = stun_codec.new_tid()
        body = struct.pack("!HH", stun_codec.A_SOFTWARE, 12) + b"abcd"  # claims 12, has 4
        msg = struct.pack("!HHI", 0x0001, len(body), stun_codec.MAGIC_COOKIE) + tid + body
        expect(ctx, c, "attribute length runs past the end", msg, allow_400=True)

        tid = stun_codec.new_tid()
        body = stun_codec.encode_attr(stun_codec.A_SOFTWARE, b"abcd") + struct.pack("!HH", stun_codec.A_SOFTWARE, 4)
        msg = struct.pack("!HHI", 0x0001, len(body), stun_codec.MAGIC_COOKIE) + tid + body
        expect(ctx, c, "last attribute header without its value/padding", msg, allow_400=True)

        tid = stun_codec.new_tid()
        body = struct.pack("!HH", stun_codec.A_SOFTWARE, 7) + b"abcdefg"  # 11 bytes: padding byte missing
        msg = struct.pack("!HHI", 0x0001, 12, stun_codec.MAGIC_COOKIE) + tid + body
        expect(ctx, c, "attribute missing its padding (length 12, datagram 31)", msg, allow_400=True)

        expect(ctx, c, "wrong magic cookie", valid_binding(cookie=0xDEADBEEF), allow_400=False)
        expect(ctx, c, "all-zero 20-byte header (cookie 0)", b"\x00" * 20, allow_400=False)

        bad_fp = bytearray(valid_binding())
        bad_fp[-1] ^= 0xFF
        expect(ctx, c, "Binding with a wrong FINGERPRINT", bytes(bad_fp), allow_400=False)

        # FINGERPRINT followed by another attribute. RFC 8489 §14 says attributes after
        # FINGERPRINT are ignored, so silence, 400 or even success are all defensible.
        raw = stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST),
                                       attrs=[(stun_codec.A_SOFTWARE, b"abcd")])
        raw = raw + stun_codec.encode_attr(stun_codec.A_SOFTWARE, b"efgh")
        raw = raw[:2] + struct.pack("!H", len(raw) - 20) + raw[4:]
        expect(ctx, c, "FINGERPRINT not the last attribute", raw, allow_400=True, allow_any=True)

        expect(ctx, c, "Binding indication (no response defined)",
               stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.INDICATION)),
               allow_400=False)
        expect(ctx, c, "a Binding success response sent to the server",
               stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.SUCCESS)), allow_400=False)
        expect(ctx, c, "ChannelData 0x4001 from a client without allocation",
               stun_codec.channel_data(0x4001, b"ping"), allow_400=False)
        expect(ctx, c, "ChannelData with length larger than the frame",
               struct.pack("!HH", 0x4001, 200) + b"ping", allow_400=False)

        rnd = random.Random(20240501)
        garbage_ok = True
        details = []
        for i in range(30):
            size = rnd.choice([1, 3, 4, 7, 19, 20, 21, 36, 100, 548, 1200, 1500])
            data = bytes(rnd.getrandbits(8) for _ in range(size))
            c.send_raw(data)
            replies = c.drain(0.15)
            if replies:
                garbage_ok = False
                details.append(f"#{i} ({size} bytes {data[:4].hex()}...) -> {len(replies)} replies")
        ctx.check(garbage_ok, "30 random-garbage datagrams are all dropped silently",
                  "; ".join(details[:5]))

        checks.section("unknown method and unknown comprehension-required attribute")
        tid = stun_codec.new_tid()
        resp = c.transact(stun_codec.build_message(stun_codec.make_type(0x0FF, stun_codec.REQUEST), tid=tid))
        ctx.check(resp is None or resp.code() == 400,
                  "request with unknown method 0x0FF -> 400 or dropped", checks.describe(resp))

        resp = c.transact(valid_binding(attrs=[(0x7F31, b"\x01\x02\x03\x04")]))
        ok = resp is not None and resp.code() == 420
        ctx.check(ok, "Binding with unknown comprehension-required attribute 0x7F31 -> 420",
                  checks.describe(resp))
        if ok:
            ua = resp.get(stun_codec.A_UNKNOWN_ATTRIBUTES) or b""
            listed = [struct.unpack("!H", ua[i:i + 2])[0] for i in range(0, len(ua) - 1, 2)]
            ctx.check(0x7F31 in listed, "420 lists 0x7F31 in UNKNOWN-ATTRIBUTES",
                      str([hex(x) for x in listed]))
        resp = c.transact(valid_binding(attrs=[(0xC0DE, b"ok")]))
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  "Binding with unknown comprehension-optional attribute 0xC0DE -> success",
                  checks.describe(resp))

        checks.section("still serving after the malformed input")
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS
                  and resp.xor_address(stun_codec.A_XOR_MAPPED_ADDRESS) == c.local,
                  "valid Binding on the same socket is answered correctly", checks.describe(resp))
    with turn_client.TurnClient(d.address) as c2:
        resp = c2.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  "valid Binding from a new socket is answered", checks.describe(resp))
    ctx.check(d.alive(), "daemon process alive after malformed input", d.death_note())


def part2_turn_errors(ctx: runner.Context, d: daemon.Daemon) -> None:
    checks.section("authentication challenges")
    with turn_client.TurnClient(d.address) as c:
        resp = c.challenge()
        ctx.require(resp is not None, "unauthenticated Allocate is answered")
        ctx.check(resp.code() == 401, "unauthenticated Allocate -> 401", resp.describe())
        ctx.check(resp.text(stun_codec.A_REALM) == daemon_config.REALM, f"401 carries REALM {daemon_config.REALM!r}",
                  repr(resp.text(stun_codec.A_REALM)))
        ctx.check(bool(resp.get(stun_codec.A_NONCE)), "401 carries a NONCE")
        ctx.check(resp.get(stun_codec.A_MESSAGE_INTEGRITY) is None, "401 has no MESSAGE-INTEGRITY")
        ctx.check(resp.fingerprint_ok() in (True, None), "401 FINGERPRINT (if any) is valid")

    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate("alice", "wrong-password")
        ctx.check(resp is not None and resp.code() == 401, "Allocate with a wrong password -> 401",
                  checks.describe(resp))
        ctx.check(resp is None or resp.get(stun_codec.A_MESSAGE_INTEGRITY) is None,
                  "that 401 is not integrity-protected")

    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate("nobody", "whatever")
        ctx.check(resp is not None and resp.code() == 401, "Allocate as an unknown user -> 401",
                  checks.describe(resp))

    checks.section("Allocate errors after authentication")
    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"], transport=stun_codec.PROTO_TCP)
        ctx.check(resp is not None and resp.code() == 442,
                  "authenticated Allocate with REQUESTED-TRANSPORT TCP (6) -> 442", checks.describe(resp))
    with turn_client.TurnClient(d.address) as c:
        c.set_credentials("alice", daemon_config.STATIC_USERS["alice"])
        c.challenge()
        resp = c.request(stun_codec.ALLOCATE, [])
        ctx.check(resp is not None and resp.code() == 400,
                  "authenticated Allocate without REQUESTED-TRANSPORT -> 400", checks.describe(resp))

    checks.section("a working allocation")
    peer = Peer(d.block.spare)
    try:
        with turn_client.TurnClient(d.address) as c:
            resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
            ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS,
                        "authenticated Allocate succeeds", checks.describe(resp))
            ctx.check(resp.integrity_ok(c.key) is True, "Allocate success has valid MESSAGE-INTEGRITY")
            ctx.check(resp.fingerprint_ok() in (True, None), "Allocate success FINGERPRINT valid")
            relayed = c.relayed
            print(f"  relayed address {relayed}")
            ctx.check(relayed is not None and relayed[0] == net.LOOPBACK
                      and d.block.relay_min <= relayed[1] <= d.block.relay_max,
                      "XOR-RELAYED-ADDRESS is inside the configured relay range", str(relayed))
            ctx.check(resp.xor_address(stun_codec.A_XOR_MAPPED_ADDRESS) == c.local,
                      "Allocate success XOR-MAPPED-ADDRESS is the client's address")
            ctx.check(resp.get(stun_codec.A_LIFETIME) is not None, "Allocate success carries LIFETIME")

            resp2 = c.request(stun_codec.ALLOCATE, [(stun_codec.A_REQUESTED_TRANSPORT,
                                                     bytes([stun_codec.PROTO_UDP, 0, 0, 0]))])
            ctx.check(resp2 is not None and resp2.code() == 437,
                      "second Allocate on the same 5-tuple (new transaction) -> 437",
                      checks.describe(resp2))

            resp = c.create_permission([("10.0.0.1", 0)])
            ctx.check(resp is not None and resp.code() == 403,
                      "CreatePermission to 10.0.0.1 (not allowed) -> 403", checks.describe(resp))

            # Permissions are per IP address (RFC 8656 §9), so "no permission" is checked before
            # the first CreatePermission for 127.0.0.1.
            c.send_indication(peer.addr, b"no-permission")
            data, _ = peer.recv(SILENCE_S)
            ctx.check(data is None, "Send indication before any CreatePermission is not relayed",
                      repr(data))
            c.send_raw(stun_codec.channel_data(0x4FFF, b"unbound"))
            data, _ = peer.recv(SILENCE_S)
            ctx.check(data is None, "ChannelData on unbound channel 0x4FFF relays nothing", repr(data))
            ctx.check(not c.drain(0.2), "ChannelData on unbound channel gets no answer")

            good_nonce = c.nonce or b""
            tampered = bytearray(good_nonce)
            if tampered:
                tampered[-1] = ord("A") if tampered[-1] != ord("A") else ord("B")
            resp = c.create_permission([peer.addr], nonce=bytes(tampered))
            ctx.check(resp is not None and resp.code() in (438, 401),
                      "CreatePermission with a tampered NONCE -> 438 or 401", checks.describe(resp))

            resp = c.create_permission([peer.addr])
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                      f"CreatePermission to {peer.addr[0]} succeeds", checks.describe(resp))

            checks.section("data path controls")
            c.send_indication(peer.addr, b"hello-peer")
            data, src = peer.recv(2.0)
            ctx.check(data == b"hello-peer", "Send indication is relayed to the permitted peer",
                      repr(data))
            ctx.check(src is not None and tuple(src) == tuple(relayed or ()),
                      "peer sees the relayed address as source", str(src))
            if src is not None:
                peer.sock.sendto(b"hello-client", src)
                raw = c.recv_raw(2.0)
                m = stun_codec.try_parse(raw)
                ctx.check(m is not None and m.method == stun_codec.DATA and m.cls == stun_codec.INDICATION
                          and m.get(stun_codec.A_DATA) == b"hello-client"
                          and m.xor_address(stun_codec.A_XOR_PEER_ADDRESS) == peer.addr,
                          "peer's reply arrives as a Data indication from the peer address",
                          checks.describe(m) if m else repr(raw))

            c.send_raw(stun_codec.channel_data(0x4FFF, b"unbound"))
            data, _ = peer.recv(SILENCE_S)
            ctx.check(data is None, "ChannelData on unbound channel 0x4FFF relays nothing "
                      "(even with a permission)", repr(data))

            resp = c.channel_bind(0x3FFF, peer.addr)
            ctx.check(resp is not None and resp.code() == 400,
                      "ChannelBind with channel number 0x3FFF (out of range) -> 400",
                      checks.describe(resp))

            resp = c.channel_bind(0x4001, peer.addr)
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "ChannelBind 0x4001 succeeds",
                      checks.describe(resp))
            c.send_raw(stun_codec.channel_data(0x4001, b"via-channel"))
            data, src = peer.recv(2.0)
            ctx.check(data == b"via-channel", "ChannelData 0x4001 is relayed to the peer", repr(data))
            if src is not None:
                peer.sock.sendto(b"back-on-channel", src)
                raw = c.recv_raw(2.0)
                ok = raw is not None and len(raw) >= 4 and struct.unpack("!HH", raw[:4]) == (
                    0x4001, len(b"back-on-channel")) and raw[4:4 + 15] == b"back-on-channel"
                ctx.check(ok, "peer's reply comes back as ChannelData on 0x4001",
                          raw[:24].hex() if raw else "nothing")

            resp = c.refresh(0)
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                      "Refresh with LIFETIME 0 deletes the allocation", checks.describe(resp))
            c.send_indication(peer.addr, b"after-delete")
            data, _ = peer.recv(SILENCE_S)
            ctx.check(data is None, "nothing is relayed after the allocation is deleted", repr(data))
    finally:
        peer.close()

    with turn_client.TurnClient(d.address) as c:
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  "valid Binding still answered at the end", checks.describe(resp))
    ctx.check(d.alive(), "daemon process alive at the end", d.death_note())


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon()
    part1_malformed(ctx, d)
    part2_turn_errors(ctx, d)
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("malformed", body))
