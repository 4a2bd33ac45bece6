#!/usr/bin/env python3
"""limits.stream_idle_timeout (2 s here; handshake timeout 10 s): a TCP/TLS TURN connection that
holds no allocation is closed that long after its first message, or after its allocation ended;
one with a live allocation stays. Run concurrently, each timed from its own reference point:
 1. TCP, one Binding (answered), then nothing -> closed 1.5-4.5 s after the Binding;
 2. TLS, the same;
 3. TCP, a Binding every 0.5 s: requests without an allocation do not keep it -> closed as 1;
 4. TCP with an allocation: still open 4.5 s later, and a Refresh is answered;
 5. TLS with an allocation: the same;
 6. TCP with an allocation held 3 s (longer than the timeout), then Refresh lifetime 0 -> closed
    1.5-4.5 s after the Refresh.
Then /metrics: turnpike_stream_idle_closed_total == 4 (cases 1, 2, 3, 6), and the daemon still
serves an allocation over TLS."""

import sys
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon_config, runner, stun_codec,  # noqa: E402
                              turn_client)
import fault_common as f  # noqa: E402

IDLE_S = 2
EARLIEST_S = 1.5  # not before (about) the timeout...
LATEST_S = 4.5    # ...and closed by then
HELD_S = 4.5      # how long a connection with an allocation must stay open
USER = ("alice", daemon_config.STATIC_USERS["alice"])


def ok(resp) -> bool:
    return resp is not None and resp.cls == stun_codec.SUCCESS


def closed_after_binding(address, tls: bool, keep_pinging: bool) -> tuple:
    """(answered, seconds from the Binding to the close or None, how)."""
    with turn_client.StreamTurnClient(address, tls=tls) as c:
        answered = ok(c.binding())
        start = time.monotonic()
        if keep_pinging:
            while time.monotonic() - start < LATEST_S + 1:
                try:
                    if c.binding() is None:
                        break  # closed under us
                except OSError:
                    break
                time.sleep(0.5)
            waited, how = c.wait_closed(max(0.1, LATEST_S + 2 - (time.monotonic() - start)))
        else:
            waited, how = c.wait_closed(LATEST_S + 2)
        return answered, None if waited is None else time.monotonic() - start, how


def allocation_held(address, tls: bool) -> tuple:
    """(allocated, still open after HELD_S, Refresh then answered)."""
    with turn_client.StreamTurnClient(address, tls=tls) as c:
        allocated = ok(c.allocate(*USER))
        waited, how = c.wait_closed(HELD_S)
        refreshed = waited is None and ok(c.refresh(600))
        return allocated, waited is None, refreshed


def closed_after_refresh_0(address) -> tuple:
    """(allocated, open 3 s later and Refresh 0 answered, seconds from it to the close or None,
    how)."""
    with turn_client.StreamTurnClient(address) as c:
        allocated = ok(c.allocate(*USER))
        waited, _ = c.wait_closed(3.0)
        start = time.monotonic()
        deleted = waited is None and ok(c.refresh(0))
        waited, how = c.wait_closed(LATEST_S + 2)
        return allocated, deleted, None if waited is None else time.monotonic() - start, how


def run_concurrently(cases: dict) -> dict:
    results: dict = {}

    def run(name, fn):
        try:
            results[name] = fn()
        except Exception as e:  # noqa: BLE001 -- reported as a failed check
            results[name] = e

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in cases.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results


def check_closed(ctx, label: str, answered: bool, after, how: str) -> None:
    shown = "still open" if after is None else f"{how} after {after:.2f} s"
    print(f"    {label}: {shown}")
    ctx.check(answered, f"{label}: Binding answered")
    ctx.check(after is not None and EARLIEST_S <= after <= LATEST_S,
              f"{label}: closed {EARLIEST_S}-{LATEST_S} s after its Binding", shown)


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: f.with_metrics(daemon_config.stream_config(
        b, cert=cert, key=key, handshake_timeout=10, limits={"stream_idle_timeout": IDLE_S}), b))
    checks.section(f"stream_idle_timeout {IDLE_S} s: six connections at once")
    results = run_concurrently({
        "tcp": lambda: closed_after_binding(d.tcp_address, False, False),
        "tls": lambda: closed_after_binding(d.tls_address, True, False),
        "tcp pinging": lambda: closed_after_binding(d.tcp_address, False, True),
        "tcp allocation": lambda: allocation_held(d.tcp_address, False),
        "tls allocation": lambda: allocation_held(d.tls_address, True),
        "tcp refresh 0": lambda: closed_after_refresh_0(d.tcp_address),
    })
    for name, r in results.items():
        if isinstance(r, Exception) or r is None:
            ctx.check(False, f"{name}: ran", f"{type(r).__name__}: {r}")
            results[name] = None
    if results.get("tcp"):
        check_closed(ctx, "TCP, no allocation", *results["tcp"])
    if results.get("tls"):
        check_closed(ctx, "TLS, no allocation", *results["tls"])
    if results.get("tcp pinging"):
        check_closed(ctx, "TCP, a Binding every 0.5 s, no allocation", *results["tcp pinging"])
    for name in ("tcp allocation", "tls allocation"):
        if results.get(name):
            allocated, held, refreshed = results[name]
            label = name.upper().replace("ALLOCATION", "with an allocation")
            ctx.check(allocated, f"{label}: Allocate -> success")
            ctx.check(held, f"{label}: still open after {HELD_S} s")
            ctx.check(refreshed, f"{label}: and a Refresh is answered")
    if results.get("tcp refresh 0"):
        allocated, deleted, after, how = results["tcp refresh 0"]
        shown = "still open" if after is None else f"{how} after {after:.2f} s"
        print(f"    TCP, Refresh 0 after 3 s: {shown}")
        ctx.check(allocated, "TCP, Refresh 0: Allocate -> success")
        ctx.check(deleted, "TCP, Refresh 0: open 3 s later, and Refresh lifetime 0 -> success")
        ctx.check(after is not None and EARLIEST_S <= after <= LATEST_S,
                  f"TCP, Refresh 0: closed {EARLIEST_S}-{LATEST_S} s after the Refresh", shown)

    checks.section("counted, and the daemon still serves")
    f.wait_metric(ctx, d, "turnpike_stream_idle_closed_total", 4, 3.0)  # published every 500 ms
    fams = f.scrape(ctx, d, "after the idle connections")
    closed = f.metric(fams, "turnpike_stream_idle_closed_total")
    ctx.check(closed == 4, "turnpike_stream_idle_closed_total == 4", f"{closed}")
    ctx.check(d.alive(), "daemon alive", d.death_note())
    with turn_client.StreamTurnClient(d.tls_address, tls=True) as c:
        resp = c.allocate(*USER)
        ctx.check(ok(resp), "Allocate over TLS -> success", checks.describe(resp))
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("stream_idle_timeout", body))
