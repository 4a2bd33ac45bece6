#!/usr/bin/env python3
"""A client that goes away while the daemon still has answers for it must not kill the daemon.

Each case: a fresh daemon; a client sends a few requests (each its own write, so each its own TLS
record on TLS) and closes the connection without reading anything. The daemon answers the first
request; the client's kernel, whose socket is closed, replies with RST; the daemon's next write on
that connection then fails with EPIPE. Unless the daemon ignores SIGPIPE (or writes with
MSG_NOSIGNAL), that write raises SIGPIPE, whose default action terminates the process: any
unauthenticated client could stop the server this way. Cases, 10 attempts each:
 1. HTTPS on the shared TLS port: 5 pipelined GET /turn-credentials with the API key, then close
    (what a browser tab that is closed mid-fetch, or any script, does);
 2. TURN over TLS on the same port: 5 Binding requests, then close;
 3. TURN over TCP: 5 Binding requests, then close;
 4. the plain "http" listener: 5 GET /healthz, each in its own write, then close.
After every attempt the daemon must still be running (and it answers a Binding at the end)."""

import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon_config, net, runner, streams,  # noqa: E402
                              stun_codec, turn_client)

ATTEMPTS = 10
REQUESTS = 5
CREDS = (b"GET /turn-credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
         + daemon_config.API_KEY.encode() + b"\r\n\r\n")
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def binding() -> bytes:
    return stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))


def run_case(ctx: runner.Context, cert: str, key: str, name: str, connect, message) -> None:
    checks.section(name)
    d = ctx.start_daemon(lambda b: daemon_config.credentials_config(b, cert, key, http_listener=True),
                         name=f"turnpiked-{len(ctx.daemons) + 1}")
    died_at = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            s = connect(d)
            for _ in range(REQUESTS):
                s.sendall(message())
            s.close()  # without reading: the answers meet a closed socket
        except OSError as e:
            print(f"    attempt {attempt}: client side {type(e).__name__}: {e}")
        time.sleep(0.05)
        if not d.alive():
            died_at = attempt
            break
    note = d.death_note()
    ctx.check(died_at is None,
              f"{name}: daemon survives {ATTEMPTS} clients that send {REQUESTS} requests and close",
              f"died at attempt {died_at}: {note}"
              + (" -- SIGPIPE: turnpiked does not ignore SIGPIPE and StreamConnection writes with "
                 "write(2) (uv_try_write/uv_write), not send(MSG_NOSIGNAL)" if "signal 13" in note
                 else ""))
    if d.alive():
        with turn_client.TurnClient(d.address) as c:
            resp = c.binding()
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, f"{name}: still answers a Binding",
                      checks.describe(resp))
        ctx.stop_daemon(d)


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    tls = lambda d: streams.connect_stream(d.tls_address, tls=True)  # noqa: E731
    tcp = lambda d: streams.connect_stream(d.tcp_address)  # noqa: E731
    http = lambda d: streams.connect_stream((net.LOOPBACK, net.http_listener_port(d.block)))  # noqa: E731
    run_case(ctx, cert, key, "HTTPS: pipelined credential requests, then close", tls, lambda: CREDS)
    run_case(ctx, cert, key, "TURN over TLS: Binding requests, then close", tls, binding)
    run_case(ctx, cert, key, "TURN over TCP: Binding requests, then close", tcp, binding)
    run_case(ctx, cert, key, "http listener: GET /healthz requests, then close", http, lambda: HEALTH)


if __name__ == "__main__":
    sys.exit(runner.main("creds_client_gone", body))
