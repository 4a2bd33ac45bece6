#!/usr/bin/env python3
"""Peer-policy verdicts do not go stale (issue 13 point 2): a channel and a permission installed
while peers.allow covers a peer stop relaying to it as soon as a SIGHUP removes that allow entry,
without waiting for a new ChannelBind, and start again when a second SIGHUP puts it back.
 1. peers.allow [127.0.0.0/8]: a UDP client allocates, binds a channel to a UDP peer socket of
    this test on 127.0.0.1 and sends ChannelData; the peer receives it. A Send indication to the
    same peer arrives too.
 2. The config is rewritten without peers.allow (loopback is then refused by the built-in deny
    list) and the daemon gets SIGHUP: the same channel's ChannelData and a Send indication no
    longer reach the peer, and turnpike_peer_denied_total grows.
 3. peers.allow is put back and SIGHUP sent again: ChannelData on the old channel arrives."""

import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, daemon, daemon_config, net, runner, stun_codec,  # noqa: E402
                              turn_client)
import fault_common as f  # noqa: E402

CHANNEL = 0x4001


def config(block: net.PortBlock, allow: bool = True) -> dict:
    cfg = f.with_metrics(daemon_config.base_config(block), block)
    if not allow:
        cfg["peers"] = {}
    return cfg


def reload(ctx: runner.Context, d: daemon.Daemon, allow: bool) -> None:
    tmp = d.config_path + ".tmp"
    daemon_config.write_json(tmp, config(d.block, allow))
    os.replace(tmp, d.config_path)
    before = d.log_text().count("reload done")
    d.proc.send_signal(signal.SIGHUP)
    done = f.wait_until(lambda: d.log_text().count("reload done") > before, 5.0)
    ctx.require(done is not None, f"SIGHUP reload done (peers.allow {'on' if allow else 'off'})")
    time.sleep(0.1)  # the workers apply the posted policy between two packets


def received(peer: socket.socket, want: bytes, timeout_s: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        peer.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, _ = peer.recvfrom(2048)
        except socket.timeout:
            return False
        if data == want:
            return True
    return False


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon(config)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((net.LOOPBACK, 0))
    target = peer.getsockname()
    c = turn_client.TurnClient(d.address)
    resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
    ctx.require(resp is not None and resp.cls == stun_codec.SUCCESS, "Allocate -> success",
                checks.describe(resp))
    ch = c.channel_bind(CHANNEL, target)
    ctx.require(ch is not None and ch.cls == stun_codec.SUCCESS, "ChannelBind to the peer -> success",
                checks.describe(ch))

    checks.section("allowed: the channel and Send indications reach the peer")
    c.send_raw(stun_codec.channel_data(CHANNEL, b"before-1"))
    ctx.check(received(peer, b"before-1"), "ChannelData reaches the peer")
    c.send_indication(target, b"before-2")
    ctx.check(received(peer, b"before-2"), "a Send indication reaches the peer")
    denied = f.metric(f.scrape(ctx, d, "before"), "turnpike_peer_denied_total")

    checks.section("SIGHUP without peers.allow: the cached verdict is judged again")
    reload(ctx, d, allow=False)
    c.send_raw(stun_codec.channel_data(CHANNEL, b"after-1"))
    ctx.check(not received(peer, b"after-1"), "ChannelData on the old channel no longer arrives")
    c.send_indication(target, b"after-2")
    ctx.check(not received(peer, b"after-2"), "a Send indication no longer arrives")
    ctx.check(f.wait_metric(ctx, d, "turnpike_peer_denied_total", denied + 2, 3.0) is not None,
              "turnpike_peer_denied_total counts both refusals")

    checks.section("SIGHUP with peers.allow again: the channel relays again")
    reload(ctx, d, allow=True)
    c.send_raw(stun_codec.channel_data(CHANNEL, b"again-1"))
    ctx.check(received(peer, b"again-1"), "ChannelData on the old channel arrives again")
    c.close()
    peer.close()
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("sighup_peer_policy", body))
