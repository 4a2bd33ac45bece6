#!/usr/bin/env python3
"""`turnpike load --raw` against the raw forwarder (tests/bench/raw_forwarder, the "raw limit" of
scripts/bench.sh) with `turnpike peer` as the echo peer: no TURN exchanges, the same ChannelData
frames straight to the forwarder, which relays them to the peer from one socket per client.
  - paced, 4 clients x 200 packets at 100 packets/s, and --flood (window 32), 4 x 2000 packets:
    the load exits 0 with received == sent, loss 0, no duplicates, nothing foreign;
  - the counts are real: the peer echoed what the load received and received what it sent, from
    4 relay sockets; the forwarder's own counts (client->peer and peer->client) match as well;
  - a datagram that is not ChannelData is counted as malformed and not forwarded.
Bounded: the forwarder runs at most 60 s; all traffic on 127.0.0.1."""

import argparse
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, net, runner  # noqa: E402
import cli_common as c  # noqa: E402

CLIENTS = 4
FORWARDER: str = ""


def run(ctx: runner.Context, fwd_port: int, peer_port: int, label: str, packets: int,
        pacing: list) -> dict:
    checks.section(f"turnpike load --raw, {label}")
    peer = c.CliPeer(ctx, [peer_port], f"peer-{label}")
    r = c.cli(ctx, ["load", f"{net.LOOPBACK}:{fwd_port}", "--raw", "--peer",
                    f"{net.LOOPBACK}:{peer_port}", "--allocations", CLIENTS, "--packets", packets,
                    *pacing, "--duration", 20, "--json", "--no-progress", "--expect-zero-loss"],
              f"load-{label}", timeout_s=40)
    counts = peer.stop()
    j = c.last_json(r.output)
    ctx.require(j is not None, f"{label}: load printed one JSON object", r.output[-400:])
    rtt = j.get("rtt_us", {})
    print(f"RESULT {ctx.name}/{label}: sent={j.get('sent')} received={j.get('received')} "
          f"loss={j.get('loss')} recv_pps={j.get('recv_pps', 0):.0f} rtt p50={rtt.get('p50')} "
          f"p99={rtt.get('p99')} us peer={counts}", flush=True)
    expected = CLIENTS * packets
    ctx.check(r.rc == 0, f"{label}: load exits 0", f"rc={r.rc}")
    ctx.check(j.get("mode") == "raw" and j.get("allocations_ready") == CLIENTS,
              f"{label}: raw mode, {CLIENTS} clients ready",
              f"mode={j.get('mode')} ready={j.get('allocations_ready')}")
    ctx.check(j.get("sent") == expected, f"{label}: sent {expected}", f"sent={j.get('sent')}")
    ctx.check(j.get("received") == j.get("sent"), f"{label}: received == sent",
              f"sent={j.get('sent')} received={j.get('received')}")
    ctx.check(j.get("loss") == 0 and j.get("duplicates") == 0 and j.get("foreign") == 0,
              f"{label}: loss 0, no duplicates, nothing foreign",
              f"loss={j.get('loss')} dup={j.get('duplicates')} foreign={j.get('foreign')}")
    ctx.check(j.get("errors") == {}, f"{label}: no errors", str(j.get("errors")))
    ctx.check(counts.get("echoed") == j.get("received") and counts.get("received") == j.get("sent"),
              f"{label}: peer's counts == load's counts",
              f"peer {counts} load sent={j.get('sent')} received={j.get('received')}")
    ctx.check(counts.get("sources") == CLIENTS, f"{label}: the peer saw {CLIENTS} relay sockets",
              str(counts.get("sources")))
    return j


def body(ctx: runner.Context) -> None:
    block = net.reserve_port_block()
    fwd_port = block.listener
    fwd = ctx.spawn([FORWARDER, "--listen", f"{net.LOOPBACK}:{fwd_port}", "--peer",
                     f"{net.LOOPBACK}:{block.base + 80}", "--seconds", "60", "--json"],
                    "raw_forwarder")
    ctx.require(net.wait_udp_bound(fwd_port) and fwd.alive(),
                f"raw_forwarder listening on {net.LOOPBACK}:{fwd_port}")
    # Every run uses the one peer address the forwarder relays to, one after the other.
    sent = 0
    received = 0
    for label, packets, pacing in (("paced", 200, ["--rate", 100]),
                                   ("flood", 2000, ["--flood", "--window", 32])):
        j = run(ctx, fwd_port, block.base + 80, label, packets, pacing)
        sent += j.get("sent", 0)
        received += j.get("received", 0)

    checks.section("a datagram that is not ChannelData")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"\x00\x01\x00\x00not channel data", (net.LOOPBACK, fwd_port))
    time.sleep(0.2)

    fwd.stop()
    out = ""
    with open(fwd.log_path, "rb") as f:
        out = f.read().decode("utf-8", "replace")
    j = c.last_json(out) or {}
    print(f"  raw_forwarder counts: {j}", flush=True)
    ctx.check(fwd.proc.returncode == 0, "raw_forwarder exits 0 on SIGTERM",
              f"rc={fwd.proc.returncode}")
    ctx.check(j.get("to_peer") == sent and j.get("to_client") == received,
              "raw_forwarder forwarded what the loads sent and received",
              f"to_peer={j.get('to_peer')} to_client={j.get('to_client')} sent={sent} "
              f"received={received}")
    ctx.check(j.get("clients") == 2 * CLIENTS, f"raw_forwarder saw {2 * CLIENTS} client addresses",
              str(j.get("clients")))
    ctx.check(j.get("malformed") == 1 and j.get("send_dropped") == 0 and j.get("refused") == 0,
              "raw_forwarder: 1 malformed datagram dropped, no send drops, none refused",
              f"malformed={j.get('malformed')} send_dropped={j.get('send_dropped')} "
              f"refused={j.get('refused')}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--raw-forwarder", required=True, help="path to the built raw_forwarder")
    args, rest = p.parse_known_args()
    if not (os.path.isfile(args.raw_forwarder) and os.access(args.raw_forwarder, os.X_OK)):
        print(f"FAIL: raw_forwarder {args.raw_forwarder!r} does not exist or is not executable")
        sys.exit(1)
    FORWARDER = args.raw_forwarder
    sys.argv = [sys.argv[0], *rest]
    sys.exit(c.cli_main("cli_load_raw", body))
