"""Shared helpers of the fault tests (fault_*.py): a config with an "http" metrics listener, a
/metrics scrape from a chosen loopback source address (the connection limits count per source,
so scrapes must not come from the address a test is exhausting), and small waits.

Everything stays on loopback (127.0.0.0/8: Linux answers on all of it without configuration)."""

from __future__ import annotations

import socket
import sys
import time
from typing import Callable, Optional

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import daemon, net, prometheus, runner  # noqa: E402

# A source address no test exhausts: scrapes come from here.
SCRAPE_SOURCE = "127.0.0.9"


def with_metrics(cfg: dict, block: net.PortBlock) -> dict:
    """Adds an "http" listener serving /metrics on http_listener_port(block)."""
    cfg["listeners"] = list(cfg["listeners"]) + [
        {"transport": "http", "address": net.LOOPBACK, "port": net.http_listener_port(block),
         "metrics": True}]
    return cfg


def http_get(port: int, path: str, source: str = SCRAPE_SOURCE,
             timeout_s: float = 5.0) -> tuple[Optional[int], str]:
    """GET http://127.0.0.1:port/path from `source`; (status, body), status None on failure."""
    try:
        with socket.create_connection((net.LOOPBACK, port), timeout=timeout_s,
                                      source_address=(source, 0)) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                      .encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        return None, f"{type(e).__name__}: {e}"
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None, data[:200].decode("latin-1")
    return status, body.decode("utf-8", "replace")


def scrape(ctx: runner.Context, d: daemon.Daemon, what: str) -> dict:
    """The daemon's /metrics as {family: PromFamily} ({} on failure, recorded as a failed check)."""
    status, text = http_get(net.http_listener_port(d.block), "/metrics")
    if status != 200:
        ctx.check(False, f"{what}: GET /metrics -> 200", f"{status}: {text[:200]}")
        return {}
    try:
        return prometheus.parse_prometheus(text)
    except prometheus.PromFormatError as e:
        ctx.check(False, f"{what}: /metrics parses", str(e))
        return {}


def metric(fams: dict, name: str, **labels) -> float:
    v = prometheus.prom_value(fams, name, **labels)
    return 0.0 if v is None else v


def wait_until(cond: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> Optional[float]:
    """Seconds until cond() held, or None if it did not within timeout_s."""
    start = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - start
        if time.monotonic() - start >= timeout_s:
            return None
        time.sleep(step_s)


def wait_metric(ctx: runner.Context, d: daemon.Daemon, name: str, want: float, timeout_s: float,
                **labels) -> Optional[float]:
    """Polls /metrics until `name` equals `want` (workers publish every 500 ms)."""
    def reached() -> bool:
        status, text = http_get(net.http_listener_port(d.block), "/metrics")
        if status != 200:
            return False
        try:
            return metric(prometheus.parse_prometheus(text), name, **labels) == want
        except prometheus.PromFormatError:
            return False

    return wait_until(reached, timeout_s, 0.2)
