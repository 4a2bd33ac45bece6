#!/usr/bin/env python3
"""The handshake timeout (config tls.handshake_timeout = 2 s): a stream connection that has not
delivered a complete STUN message by then is closed, so idle sockets cannot pile up.
 1. TCP connect to the TLS port, nothing sent (no ClientHello) -> closed after ~2 s;
 2. TLS handshake completed (Python ssl, no certificate verification), nothing sent -> closed;
 3. TCP connect to the plain TCP port, nothing sent -> closed;
 4. plain TCP, only the first 10 bytes of a Binding request -> closed (not a complete message);
 5. TLS, only 12 bytes of a Binding request inside TLS -> closed;
 6. control: a TCP connection that sent a whole Binding (answered) is NOT closed by the timer.
"Closed" means recv() returns b'' or the connection is reset, between 1.5 and 4.5 s after connect.
The three idle kinds run concurrently. Afterwards the daemon still serves a TLS allocation."""

import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon_config, runner, streams,  # noqa: E402
                              stun_codec, turn_client)

TIMEOUT_S = 2
EARLIEST_S = 1.5  # the server must not close before (about) the timeout...
LATEST_S = 4.5    # ...and must have closed by then
WAIT_S = 8.0      # how long we wait at most


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: daemon_config.stream_config(b, cert=cert, key=key,
                                                               handshake_timeout=TIMEOUT_S))

    def tls_raw():
        return streams.connect_stream(d.tls_address)

    def tls_handshaken():
        return streams.connect_stream(d.tls_address, tls=True)

    def tcp_raw():
        return streams.connect_stream(d.tcp_address)

    def tcp_partial():
        s = streams.connect_stream(d.tcp_address)
        s.sendall(stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))[:10])
        return s

    def tls_partial():
        s = streams.connect_stream(d.tls_address, tls=True)
        s.sendall(stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))[:12])
        return s

    cases = [("TLS port, TCP connect only (no ClientHello)", tls_raw),
             ("TLS port, handshake completed, nothing sent", tls_handshaken),
             ("TCP port, nothing sent", tcp_raw),
             ("TCP port, 10 bytes of a Binding request", tcp_partial),
             ("TLS port, 12 bytes of a Binding request inside TLS", tls_partial)]

    checks.section(f"idle connections with handshake_timeout {TIMEOUT_S} s (run concurrently)")
    results: dict = {}

    def run_case(label, opener):
        start = time.monotonic()
        try:
            s = opener()
        except OSError as e:
            results[label] = ("connect failed", f"{type(e).__name__}: {e}", None)
            return
        try:
            waited, how = streams.wait_peer_close(s, WAIT_S - (time.monotonic() - start))
            results[label] = ("done", how, None if waited is None else time.monotonic() - start)
        finally:
            s.close()

    threads = [threading.Thread(target=run_case, args=c, daemon=True) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S + 5)
    for label, _ in cases:
        state, how, after = results.get(label, ("no result", "", None))
        if state != "done":
            ctx.check(False, f"{label}: connected", f"{state}: {how}")
            continue
        shown = "still open" if after is None else f"{how} after {after:.2f} s"
        print(f"    {label}: {shown}")
        ctx.check(after is not None and after <= LATEST_S,
                  f"{label}: server closes it within {LATEST_S} s", shown)
        ctx.check(after is None or after >= EARLIEST_S,
                  f"{label}: ... but not before {EARLIEST_S} s", shown)

    checks.section("control: a connection that delivered a message outlives the timeout")
    with turn_client.StreamTurnClient(d.tcp_address) as c:
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "Binding over TCP answered",
                  checks.describe(resp))
        waited, how = c.wait_closed(TIMEOUT_S + 1.5)
        ctx.check(waited is None, f"still open {TIMEOUT_S + 1.5:.1f} s later",
                  f"{how} after {waited}")
        if waited is None:
            resp = c.binding()
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "and still answers a Binding",
                      checks.describe(resp))

    checks.section("the daemon still serves a TLS allocation")
    ctx.check(d.alive(), "daemon alive after the idle connections", d.death_note())
    with turn_client.StreamTurnClient(d.tls_address, tls=True) as c:
        resp = c.allocate("alice", daemon_config.STATIC_USERS["alice"])
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS and c.relayed is not None,
                  "Allocate over TLS -> success with a relayed address", checks.describe(resp))
        ctx.check(c.sock.version() in ("TLSv1.2", "TLSv1.3"), "negotiated TLS 1.2 or 1.3",
                  str(c.sock.version()))
    log = d.log_text()
    n = log.count("nothing received within the handshake timeout")
    print(f"  daemon logged {n} handshake-timeout closes")
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("tls_idle_dropped", body))
