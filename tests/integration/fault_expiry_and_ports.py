#!/usr/bin/env python3
"""Fault test: clients that vanish, and a relay port range that runs out.
 1. allocation.default_lifetime = max_lifetime = 3 s (lifetime_for never goes below the default,
    so the default is what a short test sets). A UDP client allocates, binds a channel, then
    vanishes (closes its socket: no Refresh, no lifetime 0). Its relayed port is bound (ss -uln)
    and must be unbound between 2.5 and 5 s later: the allocation expired at its lifetime (the
    expiry tick runs every 500 ms) and the relay socket was closed. turnpike_allocations is 0.
 2. The relay range is 4 ports. 4 clients allocate (all succeed), the 5th gets 508 Insufficient
    Capacity; one of the 4 deletes its allocation (Refresh lifetime 0) and a new client then
    succeeds on the freed port; all release, and 4 new allocations succeed again (the pool
    recovered fully); none of it leaks a bound port.
 3. The relay never sends to the daemon's own listening addresses, even with peers.allow covering
    127.0.0.0/8: a Binding request sent through the relay (Send indication) to the UDP listener
    is not relayed (no answer comes back as a Data indication), ChannelBind to the listener gets
    403, and turnpike_own_listener_denied_total counts the refusals. The daemon exits 0."""

import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, daemon, daemon_config, net, runner, stun_codec,  # noqa: E402
                              turn_client)
import fault_common as f  # noqa: E402

LIFETIME_S = 3
PORTS = 4


def config(block: net.PortBlock) -> dict:
    cfg = daemon_config.base_config(block,
                                    allocation={"default_lifetime": LIFETIME_S, "max_lifetime": LIFETIME_S})
    cfg["relay"]["port_max"] = block.relay_min + PORTS - 1
    return f.with_metrics(cfg, block)


def allocate(ctx: runner.Context, d: daemon.Daemon, label: str) -> tuple[turn_client.TurnClient, object]:
    c = turn_client.TurnClient(d.address)
    resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
    return c, resp


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon(config)

    checks.section(f"a vanished UDP client: its allocation expires after {LIFETIME_S} s")
    c, resp = allocate(ctx, d, "vanishing")
    ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS and c.relayed is not None,
                "Allocate -> success", checks.describe(resp))
    lifetime = struct.unpack("!I", resp.get(stun_codec.A_LIFETIME))[0] if resp.has(stun_codec.A_LIFETIME) else None
    ctx.check(lifetime == LIFETIME_S, f"LIFETIME {LIFETIME_S} s granted", f"{lifetime}")
    port = c.relayed[1]
    ch = c.channel_bind(0x4000, (net.LOOPBACK, d.block.spare))
    ctx.check(ch is not None and ch.cls == stun_codec.SUCCESS, "ChannelBind -> success", checks.describe(ch))
    ctx.check(net.udp_port_bound(port), f"relayed port {port} bound (ss -uln)")
    start = time.monotonic()
    c.close()  # gone: no Refresh, no goodbye
    waited = f.wait_until(lambda: not net.udp_port_bound(port), 8.0)
    after = None if waited is None else time.monotonic() - start
    print(f"RESULT fault_expiry: relayed port unbound {after if after is None else round(after, 2)} s "
          f"after the client vanished (lifetime {LIFETIME_S} s)", flush=True)
    ctx.check(after is not None and LIFETIME_S - 0.5 <= after <= LIFETIME_S + 2.0,
              f"relayed port unbound at the lifetime ({LIFETIME_S - 0.5}-{LIFETIME_S + 2} s)",
              f"{after}")
    ctx.check(f.wait_metric(ctx, d, "turnpike_allocations", 0, 3.0) is not None,
              "turnpike_allocations back to 0")
    ctx.check("deleted: expired" in d.log_text(), "daemon logged 'deleted: expired'")

    checks.section(f"relay port exhaustion with {PORTS} relay ports")
    clients = []
    for i in range(PORTS):
        c, resp = allocate(ctx, d, f"#{i}")
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, f"Allocate #{i + 1} -> success",
                  checks.describe(resp))
        clients.append(c)
    ports = sorted(c.relayed[1] for c in clients if c.relayed)
    ctx.check(ports == list(range(d.block.relay_min, d.block.relay_min + PORTS)),
              f"the {PORTS} relayed ports are the whole range", str(ports))
    extra, resp = allocate(ctx, d, "one too many")
    ctx.check(resp is not None and resp.code() == 508,
              f"Allocate #{PORTS + 1} -> 508 Insufficient Capacity", checks.describe(resp))
    extra.close()

    freed = clients.pop(0)
    freed_port = freed.relayed[1]
    resp = freed.refresh(0)
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Refresh lifetime 0 -> success",
              checks.describe(resp))
    freed.close()
    ctx.check(f.wait_until(lambda: not net.udp_port_bound(freed_port), 2.0) is not None,
              f"released port {freed_port} unbound")
    again, resp = allocate(ctx, d, "after release")
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS and again.relayed is not None
              and again.relayed[1] == freed_port,
              f"a new Allocate succeeds on the freed port {freed_port}", checks.describe(resp))
    clients.append(again)

    for c in clients:
        c.refresh(0)
        c.close()
    ctx.check(f.wait_until(lambda: not any(net.udp_port_bound(p) for p in ports), 3.0) is not None,
              "every relayed port unbound after all released")
    fresh = []
    for i in range(PORTS):
        c, resp = allocate(ctx, d, f"again #{i}")
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  f"recovered pool: Allocate #{i + 1} -> success", checks.describe(resp))
        fresh.append(c)
    for c in fresh:
        c.refresh(0)
        c.close()
    checks.section("the relay never sends to our own listeners (RFC 8656 §21.1.7)")
    c, resp = allocate(ctx, d, "loop")
    ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS, "Allocate -> success", checks.describe(resp))
    resp = c.create_permission([d.address])
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
              "CreatePermission for 127.0.0.1 -> success (permissions are per IP)", checks.describe(resp))
    c.send_indication(d.address, stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST)))
    got = c.recv_raw(1.0)
    ctx.check(got is None, "a Binding sent through the relay to the listener is not relayed",
              f"got {checks.describe(stun_codec.try_parse(got))}")
    resp = c.channel_bind(0x4000, d.address)
    ctx.check(resp is not None and resp.code() == 403, "ChannelBind to the listener -> 403",
              checks.describe(resp))
    # Another worker's figures in a scrape are as of its last tick (500 ms).
    ctx.check(f.wait_metric(ctx, d, "turnpike_own_listener_denied_total", 2, 3.0) is not None,
              "turnpike_own_listener_denied_total == 2")
    c.refresh(0)
    c.close()

    fams = f.scrape(ctx, d, "after")
    ctx.check(f.metric(fams, "turnpike_relay_ports_free") == PORTS or
              f.wait_metric(ctx, d, "turnpike_relay_ports_free", PORTS, 3.0) is not None,
              f"turnpike_relay_ports_free back to {PORTS}")
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("fault_expiry_and_ports", body))
