#!/usr/bin/env python3
"""Listeners are not reloadable (SIGHUP reloads secrets, users, API keys, peer policy and the
certificate), so after a SIGHUP the credential endpoint must keep advertising the listeners the
daemon actually has, even when the config file's `listeners` were edited in the meantime.
 1. Start with UDP, TCP and TLS listeners; note the URLs /turn-credentials returns.
 2. Rewrite the file with the UDP listener moved to another port and the TCP listener removed
    (everything else unchanged), SIGHUP, wait for "reload done".
 3. The daemon still listens where it did (UDP Binding on the old port answered, nothing on the
    new port, TCP still accepts), and /turn-credentials still lists exactly the URLs of step 1:
    no URL for a port nobody listens on, none missing for a listener that still runs.
 4. The credential of step 3 relays over the advertised UDP URL (Python client)."""

import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, credentials, daemon_config, http_client,  # noqa: E402
                              net, runner, stun_codec, turn_client)


def urls(ctx, d, cert):
    r = http_client.curl(http_client.https_url(d, "/turn-credentials"), cacert=cert, headers=[credentials.bearer()])
    body = r.json() or {}
    ctx.check(r.status == 200, "credential request -> 200", r.describe())
    servers = body.get("iceServers") or []
    return [u for s in servers for u in s.get("urls", [])], body


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: daemon_config.credentials_config(b, cert, key))
    udp_port, tcp_port = d.address[1], d.tcp_address[1]
    moved_port = d.block.base + 93  # inside the block, unused by anything

    checks.section("1. URLs before the reload")
    before, _ = urls(ctx, d, cert)
    for u in before:
        print(f"    {u}")

    checks.section("2. file edited (udp port moved, tcp listener removed), SIGHUP")
    cfg = daemon_config.credentials_config(d.block, cert, key)
    cfg["listeners"] = [dict(l) for l in cfg["listeners"] if l["transport"] != "tcp"]
    for l in cfg["listeners"]:
        if l["transport"] == "udp":
            l["port"] = moved_port
    daemon_config.write_json(d.config_path, cfg)
    marker = "reload done"
    n = d.log_text().count(marker)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while d.log_text().count(marker) == n and time.monotonic() < deadline:
        time.sleep(0.02)
    ctx.check(d.log_text().count(marker) > n, "daemon logs \"reload done\"")
    warn = [l for l in d.log_text().splitlines() if "listener" in l.lower() and "restart" in l.lower()]
    print(f"  log lines about listeners needing a restart: {warn or 'none'}")

    checks.section("3. the daemon still runs its original listeners, and says so")
    with turn_client.TurnClient(d.address) as c:
        resp = c.binding()
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  f"UDP Binding on the original port {udp_port} still answered", checks.describe(resp))
    with turn_client.TurnClient((net.LOOPBACK, moved_port), first_wait_s=0.5, retries=1) as c:
        resp = c.binding()
        ctx.check(resp is None, f"nothing answers on the file's new UDP port {moved_port} "
                  "(listeners are not reloaded)", checks.describe(resp))
    try:
        socket.create_connection(d.tcp_address, timeout=3).close()
        tcp_up = True
    except OSError:
        tcp_up = False
    ctx.check(tcp_up, f"the TCP listener on {tcp_port} still accepts")
    after, body_after = urls(ctx, d, cert)
    for u in after:
        print(f"    {u}")
    ghost = [u for u in after if f":{moved_port}" in u]
    missing = [u for u in before if u not in after]
    ctx.check(not ghost, f"no advertised URL points at port {moved_port}, where nothing listens",
              f"advertised: {ghost}")
    ctx.check(not missing, "every running listener is still advertised", f"missing: {missing}")
    ctx.check(after == before, "the advertised URLs are unchanged by the reload",
              f"before {before}, after {after}")

    checks.section("4. the minted credential relays over the advertised UDP URL")
    user, pw = body_after.get("username"), body_after.get("password")
    udp_urls = [u for u in after if u.startswith("turn:") and u.endswith("?transport=udp")]
    ctx.check(len(udp_urls) == 1, "one turn: UDP URL advertised", str(udp_urls))
    if udp_urls and user and pw:
        port = int(udp_urls[0].split(":")[2].split("?")[0])
        with turn_client.TurnClient((net.LOOPBACK, port), first_wait_s=0.5, retries=1) as c:
            resp = c.allocate(user, pw)
            ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                      f"Allocate via the advertised {udp_urls[0]} succeeds", checks.describe(resp))
            if resp is not None and resp.cls == stun_codec.SUCCESS:
                c.refresh(0)
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("sighup_listeners", body))
