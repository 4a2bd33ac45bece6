#!/usr/bin/env python3
"""`turnpike creds` mints TURN REST credentials offline:
 1. --json and the human output verify against Python's own base64(HMAC-SHA1(secret, username)),
    with username "<now + ttl>:<user>" (and another --separator);
 2. the secret is read from env TURNPIKE_SECRET when --secret is absent; no secret at all is a
    usage error;
 3. the minted credentials work: `turnpike load` allocates and relays with them against turnpiked
    (both configured REST secrets, i.e. during a rotation), and `turnpike load --secret` mints
    its own; `turnpike load --credentials-url` gets them from turnpiked's HTTPS credential endpoint
    (a wrong API key fails with 401); credentials minted with --ttl 1 are refused once expired."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, credentials, daemon, daemon_config, net,  # noqa: E402
                              runner)
import cli_common as c  # noqa: E402

API_KEY = "cli-creds-api-key-0123456789"


def check_credential(ctx: runner.Context, label: str, username: str, password: str, secret: str,
                     user: str, ttl: int, separator: str = ":") -> None:
    now = int(time.time())
    m = re.fullmatch(r"(\d+)" + re.escape(separator) + re.escape(user), username or "")
    ctx.check(m is not None, f"{label}: username is '<expiry>{separator}{user}'", repr(username))
    if m:
        expiry = int(m.group(1))
        ctx.check(abs(expiry - (now + ttl)) <= 5, f"{label}: expiry is now + {ttl} s",
                  f"expiry={expiry} now={now}")
    expected = credentials.rest_password(secret, username or "")
    ctx.check(password == expected, f"{label}: password == base64(HMAC-SHA1(secret, username))",
              f"{password!r} != {expected!r}")


def mint(ctx: runner.Context, args: list, label: str) -> tuple:
    r = c.cli(ctx, ["creds", *args, "--json"], label, timeout_s=20)
    ctx.require(r.rc == 0, f"{label}: turnpike creds exits 0", f"rc={r.rc} {r.output[-200:]}")
    j = c.last_json(r.output) or {}
    return j.get("username", ""), j.get("password", "")


def load(ctx: runner.Context, d: daemon.Daemon, peer_port: int, cred_args: list, label: str) -> dict:
    r = c.cli(ctx, ["load", f"{d.address[0]}:{d.address[1]}", "--peer", f"{net.LOOPBACK}:{peer_port}",
                    "--allocations", 2, "--packets", 50, "--rate", 100, "--duration", 20,
                    "--json", *cred_args], label, timeout_s=40)
    j = c.last_json(r.output) or {}
    keys = ("allocations", "sent", "received", "loss", "errors", "first_error")
    print(f"  {label}: rc={r.rc} " + " ".join(f"{k}={j.get(k)}" for k in keys if k in j), flush=True)
    return {"rc": r.rc, **j}


def body(ctx: runner.Context) -> None:
    secret = "cli-creds-secret"
    checks.section("turnpike creds --json")
    u, p = mint(ctx, ["--secret", secret, "--user", "bob", "--ttl", 600], "creds-json")
    check_credential(ctx, "json", u, p, secret, "bob", 600)

    checks.section("turnpike creds, human output and --separator")
    r = c.cli(ctx, ["creds", "--secret", secret, "--user", "carol", "--ttl", 3600,
                    "--separator", "-"], "creds-text", timeout_s=20)
    ctx.check(r.rc == 0, "creds (text) exits 0", f"rc={r.rc}")
    mu = re.search(r"^username: (\S+)$", r.output, re.M)
    mp = re.search(r"^password: (\S+)$", r.output, re.M)
    ctx.check(mu is not None and mp is not None, "text output has username: and password: lines")
    if mu and mp:
        check_credential(ctx, "text", mu.group(1), mp.group(1), secret, "carol", 3600, "-")

    checks.section("secret from env TURNPIKE_SECRET; none at all is an error")
    os.environ["TURNPIKE_SECRET"] = "from-the-environment"
    try:
        u, p = mint(ctx, ["--user", "dave", "--ttl", 60], "creds-env")
        check_credential(ctx, "env", u, p, "from-the-environment", "dave", 60)
    finally:
        del os.environ["TURNPIKE_SECRET"]
    r = c.cli(ctx, ["creds", "--user", "erin"], "creds-no-secret", timeout_s=20)
    ctx.check(r.rc == 2 and "TURNPIKE_SECRET" in r.output,
              "no --secret and no TURNPIKE_SECRET: exit 2 with a hint", f"rc={r.rc} {r.output!r}")

    checks.section("minted credentials against turnpiked")
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda block: daemon_config.stream_config(
        block, cert=cert, key=key,
        credentials={"api_keys": [{"label": "cli-load", "key": API_KEY}], "hosts": [net.LOOPBACK]}))
    peer = c.CliPeer(ctx, [d.block.base + 80], "peer")
    for i, s in enumerate(daemon_config.REST_SECRETS):
        u, p = mint(ctx, ["--secret", s, "--user", f"load{i}", "--ttl", 600], f"creds-secret{i}")
        j = load(ctx, d, peer.ports[0], ["--user", u, "--password", p], f"load-minted{i}")
        ctx.check(j.get("rc") == 0 and j.get("allocations") == 2,
                  f"load with creds from REST secret #{i + 1}: 2 allocations, exit 0", str(j))
        ctx.check(j.get("sent") == 100 and j.get("received") == 100 and j.get("loss") == 0,
                  f"load with creds from REST secret #{i + 1}: 100 sent, 100 echoed")

    j = load(ctx, d, peer.ports[0], ["--secret", daemon_config.REST_SECRETS[1], "--user", "direct"],
             "load-secret")
    ctx.check(j.get("rc") == 0 and j.get("allocations") == 2 and j.get("loss") == 0,
              "load --secret (minting itself): 2 allocations, no loss", str(j))

    checks.section("load --credentials-url: turnpiked's HTTPS credential endpoint on its TLS port")
    url = f"https://{net.LOOPBACK}:{d.tls_address[1]}/turn-credentials"
    j = load(ctx, d, peer.ports[0], ["--credentials-url", url, "--api-key", API_KEY, "--insecure"],
             "load-url")
    ctx.check(j.get("rc") == 0 and j.get("allocations") == 2 and j.get("loss") == 0,
              "load --credentials-url: 2 allocations, no loss", str(j))
    r = c.cli(ctx, ["load", f"{net.LOOPBACK}:{d.address[1]}", "--peer", f"{net.LOOPBACK}:{peer.ports[0]}",
                    "--credentials-url", url, "--api-key", "not-the-key", "--insecure"],
              "load-url-badkey", timeout_s=30)
    ctx.check(r.rc == 1 and "401" in r.output, "a wrong API key: the fetch fails with 401, exit 1",
              f"rc={r.rc} {r.output[-200:]}")

    checks.section("expired credentials")
    u, p = mint(ctx, ["--secret", daemon_config.REST_SECRETS[0], "--user", "late", "--ttl", 1], "creds-ttl1")
    time.sleep(2.5)
    j = load(ctx, d, peer.ports[0], ["--user", u, "--password", p], "load-expired")
    ctx.check(j.get("rc") == 1 and j.get("allocations") == 0 and "401" in j.get("errors", {}),
              "expired REST credentials: no allocation, 401, exit 1", str(j))
    peer.stop()
    ctx.check(d.alive(), "daemon still running", d.death_note())
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(c.cli_main("cli_creds", body))
