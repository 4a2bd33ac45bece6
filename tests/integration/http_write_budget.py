#!/usr/bin/env python3
"""The worker-wide HTTP output budget (16 MiB per worker, docs/security.md): clients that pipeline
requests and never read the answers cannot make the daemon hold more than that in HTTP write
queues, whatever the number of connections (each connection alone may queue 4 MiB).
 1. 16 connections to the "http" listener each pipeline `GET /metrics` for 7.5 MiB of answers
    (the kernel's ~4 MiB, then 3.5 MiB under the 4 MiB one connection may queue) and read
    nothing: ~56 MiB queued over 2 workers, so one worker would hold at least 28 MiB. The budget closes connections instead:
    turnpike_http_queue_full_total > 0.
 2. The daemon's resident memory stays bounded (below 200 MiB), a new client still gets /healthz,
    and closing the readers frees the budget: a later scrape works."""

import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, daemon_config, net, runner  # noqa: E402
import fault_common as f  # noqa: E402

CONNECTIONS = 16
# Per connection: what the kernel takes (loopback: the server's send buffer grows to 4 MiB) plus
# 3.5 MiB, below the 4 MiB one connection may queue in the daemon.
ANSWERS_PER_CONNECTION = 7.5 * 2**20
BATCH = 20
MAX_RSS_KIB = 200 * 1024


def sanitized(pid: int) -> bool:
    """Whether the daemon runs under ASan or TSan (ci-extended.sh): their quarantine and shadow
    memory make its RSS say nothing about the daemon's own buffers."""
    with open(f"/proc/{pid}/maps") as maps:
        return any("libasan" in line or "libtsan" in line for line in maps)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon(lambda b: f.with_metrics(daemon_config.base_config(b, workers=2), b))
    port = net.http_listener_port(d.block)
    status, text = f.http_get(port, "/metrics")
    ctx.require(status == 200, "GET /metrics -> 200", f"{status}")
    # Each connection would queue less than its own 4 MiB (so nothing is dropped by that limit);
    # together they would queue far more than 16 MiB on whichever worker holds more of them.
    requests = int(ANSWERS_PER_CONNECTION / len(text)) // BATCH * BATCH
    print(f"  one /metrics response: {len(text)} bytes; {CONNECTIONS} x {requests} requests "
          f"= {CONNECTIONS * requests * len(text) / 2**20:.0f} MiB of answers")

    checks.section(f"{CONNECTIONS} connections pipeline {requests} requests each, read nothing")
    readers = []
    for _ in range(CONNECTIONS):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # keep the kernel's share small
        s.settimeout(10)
        s.bind(("127.0.0.1", 0))
        s.connect((net.LOOPBACK, port))
        readers.append(s)
    # In small, paced batches, so each read of the server answers with much less than one
    # connection's 4 MiB (a larger answer would be dropped whole and never queued).
    batch = b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n" * BATCH
    closed_while_sending = set()
    for _ in range(requests // BATCH):
        for i, s in enumerate(readers):
            if i in closed_while_sending:
                continue
            try:
                s.sendall(batch)
            except OSError:  # the server closed it: that is the point
                closed_while_sending.add(i)
        time.sleep(0.05)
    print(f"    {len(closed_while_sending)} connections closed by the server while sending")
    peak = 0
    for _ in range(20):
        peak = max(peak, rss_kib(d.proc.pid))
        time.sleep(0.25)
    f.wait_until(lambda: f.metric(f.scrape(ctx, d, "polling"), "turnpike_http_queue_full_total") > 0,
                 3.0, 0.5)  # each worker publishes its counters every 500 ms
    fams = f.scrape(ctx, d, "with the readers stalled")
    refused = f.metric(fams, "turnpike_http_queue_full_total")
    print(f"    turnpike_http_queue_full_total {refused:.0f}; daemon RSS peak {peak / 1024:.0f} MiB;"
          f" turnpike_stream_dropped_total {f.metric(fams, 'turnpike_stream_dropped_total'):.0f};"
          f" turnpike_connections {f.metric(fams, 'turnpike_connections'):.0f}")
    if sanitized(d.proc.pid):
        # A sanitized daemon is slow enough that each connection's own 4 MiB cap often trips first:
        # there the run checks memory safety and that some bound held, not which one.
        dropped = f.metric(fams, "turnpike_stream_dropped_total")
        ctx.check(refused > 0 or dropped > 0, "the budget or the per-connection cap bounded the output",
                  f"queue_full {refused}, dropped {dropped}")
    else:
        ctx.check(refused > 0, "turnpike_http_queue_full_total > 0 (the budget closed connections)",
                  f"{refused}")
    if sanitized(d.proc.pid):
        print(f"    RSS bound not checked: sanitizer runtime ({peak / 1024:.0f} MiB peak)")
    else:
        ctx.check(peak < MAX_RSS_KIB, f"daemon RSS stays below {MAX_RSS_KIB // 1024} MiB",
                  f"{peak / 1024:.0f} MiB")
    status, _ = f.http_get(port, "/healthz", source="127.0.0.3")
    ctx.check(status == 200, "a new client still gets /healthz", f"{status}")

    checks.section("closing the readers frees the budget")
    for s in readers:
        s.close()
    time.sleep(1.0)
    status, _ = f.http_get(port, "/metrics")
    ctx.check(status == 200, "GET /metrics -> 200 afterwards", f"{status}")
    ctx.check(d.alive(), "daemon alive", d.death_note())
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("http_write_budget", body))
