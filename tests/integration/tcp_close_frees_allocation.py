#!/usr/bin/env python3
"""An allocation made over a TCP/TLS connection lives and dies with it (RFC 8656 §3.1: closing the
connection deletes the allocation). After the client closes, the relayed UDP port must no longer
be bound (checked with `ss -uln`) within 2 s, and the port must go back to the pool:
 1. TCP, orderly close (FIN);
 2. TCP, abortive close (RST, SO_LINGER 0);
 3. TLS, orderly close;
 4. TCP with a channel to a peer that keeps sending while the client does not read (the server's
    writes queue up), then RST: no crash, port released;
 5. 100 allocate/close cycles with a relay range of 80 ports: all succeed (ports are recycled);
 6. SIGTERM while TCP/TLS connections (with allocations, and one mid-handshake) are open: the
    daemon exits 0 and the connections are closed."""

import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon_config, net, runner, streams,  # noqa: E402
                              stun_codec, turn_client)

RELEASE_WITHIN_S = 2.0
CYCLES = 100


def wait_unbound(port: int, timeout_s: float):
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if not net.udp_port_bound(port):
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def allocate(ctx: runner.Context, server, tls: bool, label: str) -> turn_client.StreamTurnClient:
    c = turn_client.StreamTurnClient(server, tls=tls)
    resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
    ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS and c.relayed is not None,
                f"{label}: Allocate -> success", checks.describe(resp))
    ctx.check(net.udp_port_bound(c.relayed[1]),
              f"{label}: relayed port {c.relayed[1]} is bound (ss -uln)")
    return c


def check_released(ctx: runner.Context, label: str, port: int) -> None:
    waited = wait_unbound(port, RELEASE_WITHIN_S)
    ctx.check(waited is not None,
              f"{label}: relayed port {port} no longer bound within {RELEASE_WITHIN_S} s",
              "still bound")
    if waited is not None:
        print(f"        (released after {waited * 1000:.0f} ms)")


def rst_close(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: daemon_config.stream_config(b, cert=cert, key=key))

    checks.section("TCP, orderly close")
    c = allocate(ctx, d.tcp_address, False, "tcp/FIN")
    port = c.relayed[1]
    c.close()
    check_released(ctx, "tcp/FIN", port)

    checks.section("TCP, abortive close (RST)")
    c = allocate(ctx, d.tcp_address, False, "tcp/RST")
    port = c.relayed[1]
    rst_close(c.sock)
    check_released(ctx, "tcp/RST", port)

    checks.section("TLS, orderly close")
    c = allocate(ctx, d.tls_address, True, "tls")
    port = c.relayed[1]
    try:
        c.sock = c.sock.unwrap()  # close_notify, then the TCP close
    except (OSError, ValueError):
        pass
    c.close()
    check_released(ctx, "tls", port)

    checks.section("TCP, close while the server has data queued for the client")
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((net.LOOPBACK, d.block.spare))
    try:
        c = allocate(ctx, d.tcp_address, False, "tcp/busy")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        port = c.relayed[1]
        resp = c.channel_bind(0x4000, peer.getsockname())
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "tcp/busy: ChannelBind -> success",
                  checks.describe(resp))
        chunk = b"x" * 1200
        for _ in range(3000):  # ~3.6 MB that the client never reads
            peer.sendto(chunk, c.relayed)
        rst_close(c.sock)
        for _ in range(200):  # and more after the close
            peer.sendto(chunk, c.relayed)
        check_released(ctx, "tcp/busy", port)
    finally:
        peer.close()
    ctx.check(d.alive(), "daemon alive after closing a connection with queued writes",
              d.death_note())

    checks.section(f"{CYCLES} allocate/close cycles over TCP with {d.block.relay_max - d.block.relay_min + 1} "
                   f"relay ports")
    failures = []
    ports = set()
    for i in range(CYCLES):
        try:
            with turn_client.StreamTurnClient(d.tcp_address) as c:
                resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
                if resp is None or resp.cls != stun_codec.SUCCESS:
                    failures.append(f"#{i}: {checks.describe(resp)}")
                else:
                    ports.add(c.relayed[1])
        except OSError as e:
            failures.append(f"#{i}: {e}")
        if len(failures) >= 5:
            break
    ctx.check(not failures, f"all {CYCLES} allocations succeed", "; ".join(failures))
    print(f"        ({len(ports)} distinct relayed ports used)")
    leftover = [p for p in range(d.block.relay_min, d.block.relay_max + 1)
                if p in ports and net.udp_port_bound(p)]
    time.sleep(0.5)
    leftover = [p for p in leftover if net.udp_port_bound(p)]
    ctx.check(not leftover, "no relayed port left bound after the cycles", str(leftover[:10]))
    n = d.log_text().count("deleted: connection closed")
    ctx.check(n >= CYCLES + 4, f"daemon logged >= {CYCLES + 4} 'deleted: connection closed'",
              f"{n}")

    checks.section("SIGTERM with open TCP and TLS connections")
    tcp = allocate(ctx, d.tcp_address, False, "open tcp")
    tls = allocate(ctx, d.tls_address, True, "open tls")
    idle = streams.connect_stream(d.tls_address)  # mid-handshake: no ClientHello yet
    ctx.stop_daemon(d)  # checks exit code 0
    for label, sock in (("tcp", tcp.sock), ("tls", tls.sock), ("idle tls", idle)):
        waited, how = streams.wait_peer_close(sock, 2.0)
        ctx.check(waited is not None, f"{label} connection closed by the shutdown", how)
        sock.close()


if __name__ == "__main__":
    sys.exit(runner.main("tcp_close_frees_allocation", body))
