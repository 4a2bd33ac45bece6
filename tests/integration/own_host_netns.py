#!/usr/bin/env python3
"""The relay's own host is not a peer (docs/security.md, "Own host addresses"; issue 13).

In a network namespace this test creates (its only non-loopback address is 1.2.3.4/32 on a dummy
interface, or on lo when the dummy driver is missing; no traffic leaves the namespace), turnpiked
runs with secure defaults (no peers.allow) and relay.address 1.2.3.4, listening on 1.2.3.4. Two
UDP services run in the namespace: one on 0.0.0.0:<spare port> (a DNS cache, say) and one on
0.0.0.0:<the last relay port> (bound first, so no allocation holds it). Then, with `workers` 1
and 2:
 - Send indications and ChannelData sent to 1.2.3.4:<those ports> never reach them; ChannelBind
   to them gets 403 (CreatePermission for 1.2.3.4 is granted: permissions are per IP);
 - a datagram from the service to a relayed address (the client holds a permission for 1.2.3.4)
   is dropped;
 - four clients of the relay still exchange data through each other's relayed addresses (Send and
   ChannelData; with two workers some pairs are on different workers);
 - a client releases its allocation and a service binds the freed relay port: the channel another
   client had bound to it, and Send indications, no longer reach it;
 - turnpike_own_host_denied_total counts the refusals.
The namespace is deleted at the end, also on failure. Skips (77) when not root. < 60 s."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, daemon_config, net, runner, stun_codec,  # noqa: E402
                              turn_client)
import fault_common as f  # noqa: E402

PUBLIC = "1.2.3.4"
NETNS = f"turnpike-ownhost-{os.getpid()}"
CLONE_NEWNET = 0x40000000
QUIET_S = 1.0  # how long "nothing arrives" is waited for


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


def enter_namespace() -> None:
    """Creates NETNS (lo up, 1.2.3.4/32) and moves this process into it: the daemon and every
    socket created afterwards live there."""
    ip("netns", "add", NETNS)
    ip("-n", NETNS, "link", "set", "lo", "up")
    if ip("-n", NETNS, "link", "add", "pub0", "type", "dummy", check=False).returncode == 0:
        ip("-n", NETNS, "addr", "add", f"{PUBLIC}/32", "dev", "pub0")
        ip("-n", NETNS, "link", "set", "pub0", "up")
    else:
        ip("-n", NETNS, "addr", "add", f"{PUBLIC}/32", "dev", "lo")
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{NETNS}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into " + NETNS)
    finally:
        os.close(fd)


class Client(turn_client.TurnClient):
    """A TURN client in the namespace, on 1.2.3.4 (the host's only public address)."""

    def __init__(self, server: tuple[str, int]):
        super().__init__(server)
        self.sock.close()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((PUBLIC, 0))


def service(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.setblocking(False)
    return s


def received(s: socket.socket) -> list:
    got = []
    while True:
        try:
            got.append(s.recvfrom(65535))
        except BlockingIOError:
            return got


def config_for(workers: int):
    def config(block: net.PortBlock) -> dict:
        cfg = daemon_config.base_config(block, workers=workers)
        cfg.pop("peers")  # secure defaults: the built-in deny list, nothing allowed
        cfg["listeners"] = [{"transport": "udp", "address": PUBLIC, "port": block.listener}]
        cfg["relay"]["address"] = PUBLIC
        return f.with_metrics(cfg, block)
    return config


def payload_of(raw) -> bytes:
    """The DATA of a Data indication or the payload of ChannelData (b"" for anything else)."""
    if raw is None:
        return b""
    msg = stun_codec.try_parse(raw)
    if msg is not None:
        return (msg.get(stun_codec.A_DATA) or b"") if msg.method == stun_codec.DATA else b""
    return stun_codec.split_channel_data(raw)[1]


def attack(ctx: runner.Context, c: Client, targets: list, services: list) -> int:
    """Every path towards the own host's services; returns how many refusals it should count."""
    resp = c.create_permission([(PUBLIC, 0)])
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
              f"CreatePermission {PUBLIC} -> success (permissions are per IP)", checks.describe(resp))
    for i, target in enumerate(targets):
        c.send_indication(target, b"via Send")
        resp = c.channel_bind(0x4000 + i, target)
        ctx.check(resp is not None and resp.code() == 403, f"ChannelBind {target} -> 403",
                  checks.describe(resp))
        c.send_raw(stun_codec.channel_data(0x4000 + i, b"via ChannelData"))
    # From the services to the relayed address (the client holds a permission for 1.2.3.4).
    services[0].sendto(b"from the own host", c.relayed)
    time.sleep(QUIET_S)
    for s, target in zip(services, targets):
        got = received(s)
        ctx.check(not got, f"the service on 0.0.0.0:{target[1]} received nothing", repr(got[:3]))
    stray = [payload_of(r) for r in c.drain(0.2)]
    ctx.check(b"from the own host" not in stray, "the service's datagram was not relayed",
              repr(stray))
    return 2 * len(targets) + 1  # a Send and a ChannelBind per target, one inbound datagram


def exchange(ctx: runner.Context, clients: list) -> None:
    """Each client sends to the next one's relayed address (Send, then ChannelData)."""
    for c in clients:
        resp = c.create_permission([(PUBLIC, 0)])
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "CreatePermission -> success",
                  checks.describe(resp))
    for i, c in enumerate(clients):
        to = clients[(i + 1) % len(clients)]
        c.send_indication(to.relayed, f"send {i}".encode())
        got = payload_of(to.recv_raw(2.0))
        ctx.check(got == f"send {i}".encode(), f"client {i} -> {to.relayed} by Send: delivered",
                  repr(got))
        resp = c.channel_bind(0x4100, to.relayed)
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  f"client {i}: ChannelBind to a fellow client's relayed address -> success",
                  checks.describe(resp))
        c.send_raw(stun_codec.channel_data(0x4100, f"channel {i}".encode()))
        got = payload_of(to.recv_raw(2.0))
        ctx.check(got == f"channel {i}".encode(),
                  f"client {i} -> {to.relayed} by ChannelData: delivered", repr(got))


def released_port(ctx: runner.Context, sender: Client, gone: Client) -> int:
    """`gone` releases its allocation and a service grabs the freed port: `sender`'s channel to it
    (bound by exchange()) and its Send indications must not reach the service. Returns the
    refusals to count."""
    port = gone.relayed[1]
    resp = gone.refresh(0)
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Refresh lifetime 0 -> success",
              checks.describe(resp))
    grabbed = None
    deadline = time.monotonic() + 3.0
    while grabbed is None and time.monotonic() < deadline:
        try:
            grabbed = service(port)
        except OSError:  # the relay socket closes on the worker's loop
            time.sleep(0.05)
    ctx.require(grabbed is not None, f"a service binds the released relay port {port}")
    sender.send_raw(stun_codec.channel_data(0x4100, b"stale channel"))
    sender.send_indication((PUBLIC, port), b"stale Send")
    time.sleep(QUIET_S)
    got = received(grabbed)
    ctx.check(not got, f"the service on the released relay port {port} received nothing",
              repr(got[:3]))
    grabbed.close()
    return 2


def run(ctx: runner.Context, workers: int) -> None:
    checks.section(f"workers: {workers}")
    d = ctx.start_daemon(config_for(workers), name=f"turnpiked-w{workers}")
    wild = service(d.block.spare)
    in_range = service(d.block.relay_max)  # bound first: no allocation can hold it
    targets = [(PUBLIC, d.block.spare), (PUBLIC, d.block.relay_max)]
    clients = []
    for i in range(4):
        c = Client((PUBLIC, d.block.listener))
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS and c.relayed is not None,
                    f"Allocate #{i} -> success", checks.describe(resp))
        ctx.check(c.relayed[0] == PUBLIC and c.relayed[1] != d.block.relay_max,
                  f"relayed address {c.relayed} on {PUBLIC}, not the service's port")
        clients.append(c)
    want = attack(ctx, clients[0], targets, [wild, in_range])
    exchange(ctx, clients)
    ctx.check(not received(wild) and not received(in_range), "the services still received nothing")
    want += released_port(ctx, clients[2], clients[3])
    waited = f.wait_metric(ctx, d, "turnpike_own_host_denied_total", want, 3.0)
    fams = f.scrape(ctx, d, "after")
    ctx.check(waited is not None, f"turnpike_own_host_denied_total == {want}",
              str(f.metric(fams, "turnpike_own_host_denied_total")))
    for c in clients:
        c.refresh(0)
        c.close()
    wild.close()
    in_range.close()
    ctx.stop_daemon(d)


def body(ctx: runner.Context) -> None:
    run(ctx, 1)
    run(ctx, 2)


def main() -> int:
    if os.geteuid() != 0:
        print("SKIP: own_host_netns needs root (it creates a network namespace)")
        return 77
    try:
        enter_namespace()
        return runner.main("own_host_netns", body)
    finally:
        ip("netns", "del", NETNS, check=False)


if __name__ == "__main__":
    sys.exit(main())
