#!/usr/bin/env python3
"""Fault test: SIGTERM with shutdown.grace_period (graceful drain).
 1. grace_period 8 s; a UDP allocation A (with a channel to a Python peer) and a TCP allocation
    B exist. SIGTERM: the daemon keeps running; a new Allocate gets 508 (Insufficient Capacity:
    clients go to another server); a Binding is still answered; A refreshes, and its channel
    still relays both ways; the TCP and http listeners no longer accept connections (health
    checks fail, so a load balancer moves on). When A deletes its allocation (Refresh lifetime 0) and B closes its connection, the
    daemon exits 0 well before the grace period ends (within 2 s).
 2. grace_period 3 s with an allocation that is kept: the daemon exits 0 when the period is over
    (between 2.5 and 6 s after SIGTERM).
 3. grace_period 3 s without allocations: exits 0 at once (within 1.5 s).
 4. A second signal (SIGINT) during the drain stops at once, exit 0."""

import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, daemon, daemon_config, net, runner, stun_codec,  # noqa: E402
                              turn_client)
import fault_common as f  # noqa: E402


def config(grace: int):
    return lambda b: f.with_metrics(daemon_config.stream_config(b, shutdown={"grace_period": grace}), b)


def exit_after(d: daemon.Daemon, timeout_s: float) -> tuple:
    """(seconds until the daemon exited, exit code), or (None, None) if it is still running."""
    start = time.monotonic()
    try:
        rc = d.proc.wait(timeout=timeout_s)
    except Exception:  # subprocess.TimeoutExpired
        return None, None
    d.stopped_rc = rc
    return time.monotonic() - start, rc


def allocated_udp(ctx: runner.Context, d: daemon.Daemon, label: str) -> turn_client.TurnClient:
    c = turn_client.TurnClient(d.address)
    resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
    ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS, f"{label}: Allocate -> success",
                checks.describe(resp))
    return c


def body(ctx: runner.Context) -> None:
    checks.section("drain: existing allocations keep working, new ones get 508, exit when they end")
    d = ctx.start_daemon(config(8))
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((net.LOOPBACK, d.block.spare))
    peer.settimeout(2)
    a = allocated_udp(ctx, d, "A (udp)")
    ch = a.channel_bind(0x4000, peer.getsockname())
    ctx.check(ch is not None and ch.cls == stun_codec.SUCCESS, "A: ChannelBind -> success", checks.describe(ch))
    b = turn_client.StreamTurnClient(d.tcp_address)
    resp = b.allocate("alice", daemon_config.STATIC_USERS["alice"])
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "B (tcp): Allocate -> success",
              checks.describe(resp))

    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    ctx.check(d.alive(), "SIGTERM: still running while allocations exist", d.death_note())
    ctx.check("draining" in d.log_text(), "daemon logged that it is draining")
    newcomer = turn_client.TurnClient(d.address)
    resp = newcomer.allocate("alice", daemon_config.STATIC_USERS["alice"])
    ctx.check(resp is not None and resp.code() == 508, "new Allocate during the drain -> 508",
              checks.describe(resp))
    resp = newcomer.binding()
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding still answered",
              checks.describe(resp))
    newcomer.close()
    resp = a.refresh(600)
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "A: Refresh still works", checks.describe(resp))
    a.send_raw(stun_codec.channel_data(0x4000, b"during the drain"))
    try:
        data, _ = peer.recvfrom(2048)
    except OSError:
        data = None
    ctx.check(data == b"during the drain", "A: ChannelData still relayed to the peer", repr(data))
    peer.sendto(b"reply", a.relayed)
    got = a.recv_raw(2.0)
    ctx.check(got is not None and got[4:9] == b"reply", "A: the peer's reply still relayed back",
              repr(got))
    try:
        socket.create_connection(d.tcp_address, timeout=1).close()
        refused = False
    except OSError:
        refused = True
    ctx.check(refused, "the TCP listener is closed during the drain")
    status, text = f.http_get(net.http_listener_port(d.block), "/metrics")
    ctx.check(status is None, "the http listener is closed as well (health checks fail)",
              f"{status}")

    resp = a.refresh(0)
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "A: Refresh lifetime 0 -> success",
              checks.describe(resp))
    a.close()
    time.sleep(0.3)
    ctx.check(d.alive(), "still running while B's allocation exists", d.death_note())
    b.close()
    waited, rc = exit_after(d, 8)
    print(f"RESULT fault_sigterm_drain: exited {waited if waited is None else round(waited, 2)} s "
          f"after the last allocation ended (grace period 8 s)", flush=True)
    ctx.check(waited is not None and waited <= 2.0, "exits within 2 s of the last allocation ending",
              f"{waited}")
    ctx.check(rc == 0, "exit code 0", f"{rc}")
    ctx.check("drained: no allocation left" in d.log_text(), "daemon logged 'drained'")
    peer.close()

    checks.section("drain: the grace period ends with an allocation left")
    d = ctx.start_daemon(config(3), name="turnpiked-grace")
    keeper = allocated_udp(ctx, d, "kept")
    d.proc.send_signal(signal.SIGTERM)
    waited, rc = exit_after(d, 10)
    print(f"RESULT fault_sigterm_drain: with an allocation left, exited "
          f"{waited if waited is None else round(waited, 2)} s after SIGTERM (grace period 3 s)",
          flush=True)
    ctx.check(waited is not None and 2.5 <= waited <= 6.0, "exits when the grace period is over",
              f"{waited}")
    ctx.check(rc == 0, "exit code 0", f"{rc}")
    ctx.check("grace period over with 1 allocation(s) left" in d.log_text(),
              "daemon logged the allocation left")
    keeper.close()

    checks.section("drain: nothing to wait for")
    d = ctx.start_daemon(config(3), name="turnpiked-empty")
    d.proc.send_signal(signal.SIGTERM)
    waited, rc = exit_after(d, 10)
    ctx.check(waited is not None and waited <= 1.5, "exits at once without allocations",
              f"{waited}")
    ctx.check(rc == 0, "exit code 0", f"{rc}")

    checks.section("drain: a second signal stops at once")
    d = ctx.start_daemon(config(30), name="turnpiked-twice")
    keeper = allocated_udp(ctx, d, "kept")
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    ctx.check(d.alive(), "draining", d.death_note())
    d.proc.send_signal(signal.SIGINT)
    waited, rc = exit_after(d, 5)
    ctx.check(waited is not None and waited <= 1.5, "SIGINT during the drain: exits at once",
              f"{waited}")
    ctx.check(rc == 0, "exit code 0", f"{rc}")
    keeper.close()


if __name__ == "__main__":
    sys.exit(runner.main("fault_sigterm_drain", body))
