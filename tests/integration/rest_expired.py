#!/usr/bin/env python3
"""TURN REST credentials are refused once expired (and when minted with an unknown secret),
while a fresh one with the same user works: raw Python Allocates, plus turnutils_uclient with an
expired username, which must fail."""

import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, credentials, daemon_config, net, runner,  # noqa: E402
                              stun_codec, tools, turn_client, turnutils)


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon()
    now = int(time.time())

    checks.section("control: a fresh REST credential allocates")
    user, pw = credentials.rest_credential(daemon_config.REST_SECRETS[1], "carol", now + 600)
    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate(user, pw)
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  f"Allocate with fresh REST credential {user!r} succeeds", checks.describe(resp))
        if resp is not None and resp.cls == stun_codec.SUCCESS:
            ctx.check(resp.integrity_ok(c.key) is True, "success response has valid MESSAGE-INTEGRITY")
            rel = c.refresh(0)
            ctx.check(rel is not None and rel.cls == stun_codec.SUCCESS, "Refresh(lifetime 0) releases it",
                      checks.describe(rel))

    checks.section("expired REST credentials are refused")
    for age in (3600, 1):
        user, pw = credentials.rest_credential(daemon_config.REST_SECRETS[1], "carol", now - age)
        with turn_client.TurnClient(d.address) as c:
            resp = c.allocate(user, pw)
            ctx.check(resp is not None and resp.code() == 401,
                      f"Allocate with REST username expired {age} s ago ({user}) -> 401",
                      checks.describe(resp))
            ctx.check(c.relayed is None, "no relayed address handed out")

    checks.section("REST credential minted with an unknown secret is refused")
    user, pw = credentials.rest_credential("not-a-configured-secret", "carol", now + 600)
    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate(user, pw)
        ctx.check(resp is not None and resp.code() == 401,
                  "Allocate with a REST credential from an unknown secret -> 401", checks.describe(resp))

    checks.section("turnutils_uclient with an expired REST credential fails")
    user, pw = credentials.rest_credential(daemon_config.REST_SECRETS[0], "carol", now - 3600)
    uclient = tools.find_tool("turnutils_uclient")
    r = ctx.tool([uclient, "-u", user, "-w", pw, "-e", net.LOOPBACK, "-r", str(d.block.peer),
                  "-p", str(d.address[1]), "-n", "5", "-m", "1", "-c", d.address[0]],
                 timeout_s=30, label="uclient-expired")
    stats = turnutils.parse_uclient(r.output)
    ctx.check(not r.timed_out, "uclient gives up within 30 s")
    ctx.check(r.rc not in (0, None), "uclient exits non-zero", f"rc={r.rc}")
    ctx.check(not stats.received, "uclient relayed nothing", f"received={stats.received}")
    tail = [l for l in r.output.splitlines() if "error" in l.lower() or "cannot" in l.lower()][-3:]
    for line in tail:
        print(f"    {line.strip()}")

    ctx.check(d.alive(), "daemon still running", d.death_note())
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("rest_expired", body))
