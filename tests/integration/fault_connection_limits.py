#!/usr/bin/env python3
"""Fault test: TCP connection floods against limits.max_connections_per_ip and
limits.max_connections.
 1. Default limits (10000 in total, 64 per IP), tls.handshake_timeout 60 s so idle connections
    are not timed out during the test. 1,000 idle TCP connections from 127.0.0.1: the daemon
    keeps exactly 64 of them open and closes the other 936 at once (reset or EOF, within 2 s);
    turnpike_connections_rejected_total{reason="per_ip"} counts them and turnpike_connections
    shows the 64 held (+1 for the scrape). Meanwhile another source address, 127.0.0.2, still gets
    service: an Allocate over TCP and a Binding over UDP succeed. Closing the 64 frees their
    slots: 64 new connections from 127.0.0.1 are held again.
 2. limits.max_connections 100 (per IP 64): 64 connections from 127.0.0.3 and 64 from 127.0.0.4;
    the daemon holds 100 in total and rejects 28, counted with reason "total" (and a /metrics
    scrape at that moment is refused too: the metrics listener shares the budget).
All sockets are opened and closed by this process; every connection stays on loopback."""

import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, daemon_config, net, runner, stun_codec,  # noqa: E402
                              turn_client)
import fault_common as f  # noqa: E402

FLOOD = 1000
PER_IP = 64


def open_many(server, source: str, n: int) -> tuple[list, int, list]:
    """n TCP connection attempts from `source` (no data sent). Returns (connected sockets, how
    many were reset already while connecting -- the daemon accepts and resets so fast on loopback
    that connect() itself can see the RST --, other errors)."""
    socks, reset, errors = [], 0, []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.bind((source, 0))
            s.connect(server)
            socks.append(s)
        except ConnectionResetError:
            reset += 1
            s.close()
        except OSError as e:
            errors.append(str(e))
            s.close()
    return socks, reset, errors


def split_open_closed(socks: list, settle_s: float = 2.0) -> tuple[list, list]:
    """After settle_s, which connections the server still holds (a non-blocking read would block)
    and which it closed (EOF or reset)."""
    time.sleep(settle_s)
    held, closed = [], []
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(1)
            (closed if data == b"" else held).append(s)
        except BlockingIOError:
            held.append(s)
        except OSError:
            closed.append(s)
    return held, closed


def close_all(socks: list) -> None:
    for s in socks:
        s.close()


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon(lambda b: f.with_metrics(daemon_config.stream_config(b, handshake_timeout=60), b))

    checks.section(f"{FLOOD} idle TCP connections from 127.0.0.1 (limit {PER_IP} per IP)")
    start = time.monotonic()
    socks, reset, errors = open_many(d.tcp_address, "127.0.0.1", FLOOD)
    opened_in = time.monotonic() - start
    ctx.check(not errors, f"{FLOOD} TCP connects: each connected or reset, nothing else",
              f"{len(errors)} failed otherwise: {errors[:3]}")
    held, closed = split_open_closed(socks)
    print(f"RESULT fault_connection_limits: {FLOOD} connects in {opened_in:.2f} s from one IP; "
          f"daemon held {len(held)}, reset {reset} during connect and closed {len(closed)} "
          f"right after", flush=True)
    ctx.check(len(held) == PER_IP, f"the daemon holds exactly {PER_IP}", f"held {len(held)}")
    ctx.check(reset + len(closed) == FLOOD - PER_IP, f"and closed the other {FLOOD - PER_IP}",
              f"reset {reset} + closed {len(closed)}")
    fams = f.scrape(ctx, d, "after the flood")
    rejected = f.metric(fams, "turnpike_connections_rejected_total", reason="per_ip")
    ctx.check(rejected == FLOOD - PER_IP,
              f"turnpike_connections_rejected_total{{reason=per_ip}} == {FLOOD - PER_IP}",
              f"{rejected}")
    ctx.check(f.metric(fams, "turnpike_connections") == PER_IP + 1,
              f"turnpike_connections == {PER_IP} + the scrape", f"{f.metric(fams, 'turnpike_connections')}")

    checks.section("another source address is still served")
    c = turn_client.StreamTurnClient.__new__(turn_client.StreamTurnClient)
    turn_client.TurnClient.__init__(c, d.tcp_address, first_wait_s=5.0, retries=0)
    c.sock.close()
    c.sock = socket.create_connection(d.tcp_address, timeout=5, source_address=("127.0.0.2", 0))
    c.byte_at_a_time, c.byte_delay_s, c.rx, c.eof, c.garbage = False, 0.0, bytearray(), None, None
    try:
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  "127.0.0.2: Allocate over TCP -> success", checks.describe(resp))
    finally:
        c.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.2", 0))
    u.settimeout(2)
    try:
        u.sendto(stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST)), d.address)
        reply = stun_codec.try_parse(u.recvfrom(2048)[0])
    except OSError:
        reply = None
    finally:
        u.close()
    ctx.check(reply is not None and reply.cls == stun_codec.SUCCESS, "127.0.0.2: Binding over UDP answered",
              checks.describe(reply))

    checks.section("closing the held connections frees their slots")
    close_all(socks)
    time.sleep(0.5)
    socks, reset, errors = open_many(d.tcp_address, "127.0.0.1", PER_IP)
    held, closed = split_open_closed(socks, 1.0)
    ctx.check(len(held) == PER_IP, f"{PER_IP} new connections held again",
              f"held {len(held)}, closed {len(closed)}, reset {reset}, errors {len(errors)}")
    close_all(socks)
    ctx.stop_daemon(d)

    checks.section("limits.max_connections 100 across two source addresses")
    d2 = ctx.start_daemon(lambda b: f.with_metrics(
        daemon_config.stream_config(b, handshake_timeout=60, limits={"max_connections": 100}), b),
        name="turnpiked-total")
    a, _, _ = open_many(d2.tcp_address, "127.0.0.3", PER_IP)
    time.sleep(0.3)  # so the first address's connections are all counted first
    b, _, _ = open_many(d2.tcp_address, "127.0.0.4", PER_IP)
    held_a, _ = split_open_closed(a)
    held_b, _ = split_open_closed(b, 0.0)
    print(f"RESULT fault_connection_limits: max_connections 100: held {len(held_a)} + "
          f"{len(held_b)} of {len(a) + len(b)}", flush=True)
    ctx.check(len(held_a) + len(held_b) == 100, "the daemon holds 100 in total",
              f"{len(held_a)} + {len(held_b)}")
    ctx.check(len(held_a) == PER_IP, f"all {PER_IP} of the first address", f"{len(held_a)}")
    # The metrics listener is a TCP listener too: at the limit, a scrape is refused as well.
    status, _ = f.http_get(net.http_listener_port(d2.block), "/metrics")
    ctx.check(status is None, "a scrape at the total limit is refused too", f"{status}")
    close_all(a + b)
    time.sleep(0.5)
    fams = f.scrape(ctx, d2, "total limit")
    ctx.check(f.metric(fams, "turnpike_connections_rejected_total", reason="total") == 29,
              "turnpike_connections_rejected_total{reason=total} == 28 + the refused scrape",
              f"{f.metric(fams, 'turnpike_connections_rejected_total', reason='total')}")
    ctx.stop_daemon(d2)


if __name__ == "__main__":
    sys.exit(runner.main("fault_connection_limits", body))
