#!/usr/bin/env python3
"""Fault test: TCP and TLS clients that break off at the worst moment.
 1. TCP reset mid-frame: 20 clients each allocate over TCP (with a channel), write the first part
    of a frame (a STUN Refresh cut after 1..N-1 bytes, or a ChannelData frame cut inside its
    payload) and reset the connection (SO_LINGER 0). Every relayed port must be unbound within
    2 s (the allocation is freed with its connection) and the daemon keeps serving: a Binding over
    UDP and an Allocate over TCP succeed afterwards, turnpike_allocations is 0 and
    turnpike_connections is 1 (the scrape itself).
 2. TLS stalled mid-handshake (tls.handshake_timeout = 2 s): a client that sent half a
    ClientHello, one that sent a whole ClientHello but never answers the server's flight, and one
    that stops after the TCP handshake; all three are closed by the server between 1.5 and 4.5 s
    after connecting. A TLS Allocate still works afterwards."""

import socket
import ssl
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon_config, net, runner, streams,  # noqa: E402
                              stun_codec, turn_client)
import fault_common as f  # noqa: E402

CLIENTS = 20
TIMEOUT_S = 2


def rst_close(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def client_hello() -> bytes:
    """The first flight of a Python TLS client (a real ClientHello), from a memory BIO."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = streams.tls_client_context().wrap_bio(incoming, outgoing)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: f.with_metrics(
        daemon_config.stream_config(b, cert=cert, key=key, handshake_timeout=TIMEOUT_S), b))

    checks.section(f"TCP reset in the middle of a frame, {CLIENTS} times")
    ports = []
    for i in range(CLIENTS):
        c = turn_client.StreamTurnClient(d.tcp_address)
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        if resp is None or resp.cls != stun_codec.SUCCESS or c.relayed is None:
            ctx.check(False, f"#{i}: Allocate over TCP -> success", checks.describe(resp))
            c.close()
            continue
        ports.append(c.relayed[1])
        peer = (net.LOOPBACK, d.block.spare)
        ch = c.channel_bind(0x4000, peer)
        if ch is None or ch.cls != stun_codec.SUCCESS:
            ctx.check(False, f"#{i}: ChannelBind -> success", checks.describe(ch))
        if i % 2 == 0:  # a STUN request cut short
            frame = stun_codec.build_message(stun_codec.make_type(stun_codec.REFRESH, stun_codec.REQUEST),
                                             attrs=[(stun_codec.A_LIFETIME, struct.pack("!I", 600))] + c.auth_attrs(),
                                             key=c.key)
        else:  # a ChannelData frame cut inside its payload
            frame = stun_codec.channel_data(0x4000, b"x" * 500)
        cut = 1 + (i * 7919) % (len(frame) - 1)
        c.sock.sendall(frame[:cut])
        time.sleep(0.01)
        rst_close(c.sock)
    ctx.check(len(ports) == CLIENTS, f"{CLIENTS} TCP allocations made", f"{len(ports)}")
    left = f.wait_until(lambda: not any(net.udp_port_bound(p) for p in ports), 2.0)
    still = [p for p in ports if net.udp_port_bound(p)]
    ctx.check(left is not None, "every relayed port unbound within 2 s of the resets", str(still))
    ctx.check(d.alive(), "daemon alive after the resets", d.death_note())
    with turn_client.TurnClient(d.address) as u:
        resp = u.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding over UDP still answered",
                  checks.describe(resp))
    with turn_client.StreamTurnClient(d.tcp_address) as c:
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Allocate over TCP still works",
                  checks.describe(resp))
    ctx.check(f.wait_metric(ctx, d, "turnpike_allocations", 0, 3.0) is not None,
              "turnpike_allocations back to 0")
    ctx.check(f.wait_metric(ctx, d, "turnpike_connections", 1, 3.0) is not None,
              "turnpike_connections back to 1 (the scrape's own HTTP connection)")

    checks.section(f"TLS clients stalling mid-handshake (tls.handshake_timeout {TIMEOUT_S} s)")
    hello = client_hello()
    ctx.require(len(hello) > 100 and hello[0] == 0x16, "a ClientHello record to replay",
                f"{len(hello)} bytes")

    def half_hello():
        s = streams.connect_stream(d.tls_address)
        s.sendall(hello[:len(hello) // 2])
        return s

    def whole_hello_then_silence():
        s = streams.connect_stream(d.tls_address)
        s.sendall(hello)  # the server answers with its flight; we never send Finished
        return s

    def tcp_only():
        return streams.connect_stream(d.tls_address)

    cases = [("half a ClientHello", half_hello),
             ("a whole ClientHello, then silence", whole_hello_then_silence),
             ("TCP handshake only", tcp_only)]
    results: dict = {}

    def run(label, opener):
        start = time.monotonic()
        try:
            s = opener()
        except OSError as e:
            results[label] = (None, f"connect failed: {e}")
            return
        try:
            waited, how = streams.wait_peer_close(s, 8.0)
            results[label] = (None if waited is None else time.monotonic() - start, how)
        finally:
            s.close()

    threads = [threading.Thread(target=run, args=c, daemon=True) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    for label, _ in cases:
        after, how = results.get(label, (None, "no result"))
        shown = "still open" if after is None else f"{how} after {after:.2f} s"
        print(f"    {label}: {shown}")
        ctx.check(after is not None and 1.5 <= after <= 4.5,
                  f"{label}: dropped at the handshake timeout (1.5-4.5 s)", shown)
    times = [results.get(label, (None,))[0] for label, _ in cases]
    print("RESULT fault_stream_faults: stalled TLS handshakes dropped after "
          + ", ".join("-" if t is None else f"{t:.2f}" for t in times) + " s", flush=True)
    with turn_client.StreamTurnClient(d.tls_address, tls=True) as c:
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Allocate over TLS still works",
                  checks.describe(resp))
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("fault_stream_faults", body))
