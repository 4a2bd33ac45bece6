#!/usr/bin/env python3
"""`turnpike load` + `turnpike peer` against turnpiked over UDP, TCP and TLS (a self-signed
certificate made here, --insecure): 4 allocations x 200 packets at 100 packets/s each, ChannelData
(and once Send/Data indications). For every run:
  - the load exits 0, 4 allocations, received == sent == 800, loss 0, no duplicates, no foreign;
  - the counts are real: the peer's own count of echoed packets equals what the load reports
    received (and the peer received what the load sent);
  - every allocation is deleted at the end (Refresh lifetime 0: "deleted by client" in the log).
Interop: coturn's turnutils_uclient through the daemon with `turnpike peer` as its echo peer
(-e 127.0.0.1 -r PORT; the peer also echoes on PORT+1 for uclient's RTCP sessions), 0 loss."""

import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon, daemon_config, net, runner,  # noqa: E402
                              turnutils)
import cli_common as c  # noqa: E402

ALLOCATIONS = 4
PACKETS = 200
RATE = 100
SIZE = 120


def load_run(ctx: runner.Context, d: daemon.Daemon, transport: str, port: int, peer_port: int,
             extra: list = ()) -> None:
    label = f"{transport}{''.join(extra).replace('--', '-')}"
    checks.section(f"turnpike load over {transport} {' '.join(extra)}".rstrip())
    peer = c.CliPeer(ctx, [peer_port], f"peer-{label}")
    deleted_before = d.log_text().count("deleted: deleted by client")
    args = ["load", f"{net.LOOPBACK}:{port}", "--transport", transport,
            "--peer", f"{net.LOOPBACK}:{peer_port}", "--allocations", ALLOCATIONS,
            "--packets", PACKETS, "--rate", RATE, "--size", SIZE, "--duration", 25, "--json",
            "--expect-zero-loss", "--user", "alice", "--password", daemon_config.STATIC_USERS["alice"], *extra]
    if transport == "tls":
        args.append("--insecure")
    r = c.cli(ctx, args, f"load-{label}", timeout_s=45)
    counts = peer.stop()
    j = c.last_json(r.output)
    ctx.require(j is not None, f"{label}: load printed one JSON object", r.output[-400:])
    c.check_load_run(ctx, label, r, j, counts, ALLOCATIONS, PACKETS, SIZE)
    rtt = j.get("rtt_us", {})
    ctx.check(rtt.get("count") == j.get("received") and 0 < rtt.get("p50", 0) <= rtt.get("max", 0),
              f"{label}: an RTT sample per echo, 0 < p50 <= max", str(rtt))
    deleted = d.log_text().count("deleted: deleted by client") - deleted_before
    ctx.check(deleted == ALLOCATIONS, f"{label}: daemon log shows {ALLOCATIONS} client deletions",
              f"{deleted}")
    ctx.check(d.alive(), f"{label}: daemon still running", d.death_note())


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda block: daemon_config.stream_config(block, cert=cert, key=key))
    base = d.block.base
    load_run(ctx, d, "udp", d.address[1], base + 80)
    load_run(ctx, d, "tcp", d.tcp_address[1], base + 81)
    load_run(ctx, d, "tls", d.tls_address[1], base + 82)
    load_run(ctx, d, "udp", d.address[1], base + 83, ["--send-indication"])
    load_run(ctx, d, "tcp", d.tcp_address[1], base + 84, ["--send-indication"])

    checks.section("interop: turnutils_uclient -> turnpiked -> turnpike peer")
    port = d.block.peer
    peer = c.CliPeer(ctx, [port, port + 1], "peer-uclient")
    ctx._peer_port = port  # turnutils.uclient_run then uses this peer instead of turnutils_peer
    cred = ["-u", "alice", "-w", daemon_config.STATIC_USERS["alice"]]
    stats = turnutils.uclient_run(ctx, d, "uclient-channel", cred, n=50)
    counts = peer.stop()
    ctx.check(stats.received is not None and counts.get("echoed") == stats.received > 0,
              "uclient: turnpike peer's echoed count == uclient's received count",
              f"peer echoed={counts.get('echoed')} uclient received={stats.received}")
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(c.cli_main("cli_load", body))
