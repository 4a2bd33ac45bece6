#!/usr/bin/env python3
"""SIGHUP reloads REST secrets, API keys and the TLS certificate without disturbing running
relays.
 1. The daemon starts with certificate A (CN turnpike-it-old), REST secret OLD and API key K1
    (label app-v1). A new TLS connection sees certificate A; K1 mints OLD credentials.
 2. A long turnutils_uclient run over TLS with those credentials starts (2 clients x 400 packets
    at 20 ms, about 8 s). While it relays, the config file is rewritten with a NEW secret first
    (OLD kept second), API key K2 (label app-v2) instead of K1, and certificate B (another CN and
    serial), and the daemon gets SIGHUP. The reload must complete while uclient is still running.
 3. After the reload: a new TLS connection sees certificate B (SHA-256 fingerprints compared; curl
    verifies against B and refuses with A); K1 -> 401, K2 -> 200; credentials minted now use the
    NEW secret (HMAC computed here) and allocate; the OLD credentials still allocate (OLD still
    verifies).
 4. The uclient run finishes with every packet back (0 loss).
 5. A second reload without OLD: the OLD credentials are refused (401), NEW ones still work.
 6. A reload with a broken config file is refused and the running configuration is kept."""

import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, credentials, daemon, daemon_config,  # noqa: E402
                              http_client, runner, stun_codec, turn_client,
                              turnutils)

OLD_SECRET = "sighup-secret-old-0001"
NEW_SECRET = "sighup-secret-new-0002"
K1 = {"label": "app-v1", "key": "sighup-key-one-0123456789"}
K2 = {"label": "app-v2", "key": "sighup-key-two-9876543210"}


def config(block, cert, key, secrets, api_key) -> dict:
    auth = {"realm": daemon_config.REALM, "static_users": dict(daemon_config.STATIC_USERS),
            "rest_secrets": list(secrets)}
    return daemon_config.credentials_config(
        block, cert, key, credentials=daemon_config.credentials_block(api_keys=[api_key]), auth=auth)


def rewrite(d: daemon.Daemon, cfg) -> None:
    tmp = d.config_path + ".tmp"
    if isinstance(cfg, str):
        with open(tmp, "w") as f:
            f.write(cfg)
    else:
        daemon_config.write_json(tmp, cfg)
    os.replace(tmp, d.config_path)


def sighup_and_wait(ctx: runner.Context, d: daemon.Daemon, marker: str = "reload done",
                    timeout_s: float = 5.0) -> bool:
    before = d.log_text().count(marker)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if d.log_text().count(marker) > before:
            return True
        time.sleep(0.02)
    return False


def mint(ctx, d, cacert, api_key, what):
    r = http_client.curl(http_client.https_url(d, "/turn-credentials"), cacert=cacert,
                         headers=[credentials.bearer(api_key["key"])])
    print(f"    -> {r.describe()[:140]}")
    body = r.json() or {}
    return r, body.get("username"), body.get("password")


def allocate(d, user, pw):
    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate(user, pw)
        if resp is not None and resp.cls == stun_codec.SUCCESS:
            c.refresh(0)
        return resp


def body(ctx: runner.Context) -> None:
    cert_a, key_a = certs.make_cert(ctx.workdir, "cert-a", "turnpike-it-old")
    cert_b, key_b = certs.make_cert(ctx.workdir, "cert-b", "turnpike-it-new")
    fp_a, fp_b = certs.cert_file_sha256(cert_a), certs.cert_file_sha256(cert_b)
    ctx.require(fp_a != fp_b, "the two test certificates differ", fp_a)
    print(f"  certificate A sha256 {fp_a}\n  certificate B sha256 {fp_b}")
    d = ctx.start_daemon(lambda b: config(b, cert_a, key_a, [OLD_SECRET], K1))

    checks.section("1. before the reload")
    seen = certs.server_cert_sha256(d.tls_address)
    ctx.check(seen == fp_a, "a new TLS connection sees certificate A", seen)
    now = int(time.time())
    r, u1, p1 = mint(ctx, d, cert_a, K1, "K1")
    ctx.require(r.status == 200, "K1 -> 200 (curl verifies the server with certificate A)",
                r.describe())
    credentials.check_rest_credential(ctx, "K1 credential", u1, p1, OLD_SECRET, K1["label"], now, 86400)

    checks.section("2. a long uclient run over TLS, SIGHUP in the middle")
    turnutils.ensure_peer(ctx, d)
    n, m = 400, 2
    run: dict = {}

    def long_run():
        run["start"] = time.monotonic()
        try:
            run["stats"] = turnutils.uclient_run(ctx, d, "tls-across-sighup", ["-u", u1, "-w", p1],
                                                 transport_args=["-t", "-S", "-z", "20"], n=n, m=m,
                                                 timeout_s=60, port=d.tls_address[1])
        except Exception as e:  # recorded below
            run["error"] = f"{type(e).__name__}: {e}"
        run["end"] = time.monotonic()

    t = threading.Thread(target=long_run, daemon=True)
    t.start()
    time.sleep(3.0)  # uclient connects within well under a second, then sends for ~8 s
    ctx.check(t.is_alive(), "uclient still running 3 s after its start (relaying)")
    rewrite(d, config(d.block, cert_b, key_b, [NEW_SECRET, OLD_SECRET], K2))
    sighup_at = time.monotonic()
    reloaded = sighup_and_wait(ctx, d)
    ctx.check(reloaded, "daemon logs \"reload done\" after SIGHUP")
    ctx.check(t.is_alive(), "the reload finished while uclient was still relaying",
              f"reload took {time.monotonic() - sighup_at:.2f} s")
    ctx.check(d.alive(), "daemon alive after SIGHUP", d.death_note())

    checks.section("3. after the reload (uclient still running)")
    # Worker threads take the reloaded state between two packets: allow them a moment (bounded),
    # then every new connection, whichever worker accepts it, must present B.
    deadline = time.monotonic() + 3
    seen = certs.server_cert_sha256(d.tls_address)
    while seen != fp_b and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = certs.server_cert_sha256(d.tls_address)
    time.sleep(0.2)
    seen_all = {certs.server_cert_sha256(d.tls_address) for _ in range(6)}
    ctx.check(seen == fp_b and seen_all == {fp_b},
              "new TLS connections see certificate B (fingerprint; 6 more connections too)",
              f"saw {sorted(seen_all | {seen})}, A is {fp_a}")
    r, _, _ = mint(ctx, d, cert_a, K2, "K2 verified with A")
    ctx.check(r.status is None and r.curl_rc == 60,
              "curl --cacert <certificate A> now fails verification (curl exit 60)", r.describe())
    r, _, _ = mint(ctx, d, cert_b, K1, "K1")
    ctx.check(r.status == 401, "the old API key K1 -> 401", r.describe())
    now = int(time.time())
    r, u2, p2 = mint(ctx, d, cert_b, K2, "K2")
    ctx.check(r.status == 200, "the new API key K2 -> 200 (verified with certificate B)",
              r.describe())
    if r.status == 200:
        credentials.check_rest_credential(ctx, "K2 credential", u2, p2, NEW_SECRET, K2["label"], now, 86400)
        ctx.check(p2 != credentials.rest_password(OLD_SECRET, u2), "... and it is not the OLD secret's HMAC")
        resp = allocate(d, u2, p2)
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  "Allocate with the NEW-secret credential -> success", checks.describe(resp))
    resp = allocate(d, u1, p1)
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
              "Allocate with the OLD-secret credential (OLD is still listed) -> success",
              checks.describe(resp))

    checks.section("4. the uclient run across the reload")
    t.join(70)
    ctx.check(not t.is_alive(), "uclient thread finished")
    ctx.check("error" not in run, "uclient run raised nothing", run.get("error", ""))
    stats = run.get("stats")
    ctx.check(stats is not None and stats.lost == 0 and stats.received == n * m,
              f"uclient across SIGHUP: {n * m} packets back, 0 lost",
              stats.one_line() if stats else "no stats")
    if "end" in run:
        print(f"  uclient ran {run['end'] - run['start']:.1f} s; SIGHUP at "
              f"+{sighup_at - run['start']:.1f} s")

    checks.section("5. second reload: OLD removed")
    rewrite(d, config(d.block, cert_b, key_b, [NEW_SECRET], K2))
    ctx.check(sighup_and_wait(ctx, d), "second reload done")
    deadline = time.monotonic() + 3  # workers apply the reload between packets: a bounded wait
    resp = allocate(d, u1, p1)
    while (resp is None or resp.code() != 401) and time.monotonic() < deadline:
        time.sleep(0.1)
        resp = allocate(d, u1, p1)
    ctx.check(resp is not None and resp.code() == 401,
              "Allocate with the OLD-secret credential -> 401 now", checks.describe(resp))
    if u2 is not None:
        resp = allocate(d, u2, p2)
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  "the NEW-secret credential still allocates", checks.describe(resp))

    checks.section("6. a reload with a broken file keeps the running configuration")
    rewrite(d, '{"relay": {"address": "127.0.0.1"}, "auth": ')
    ctx.check(sighup_and_wait(ctx, d, marker="reload failed"), "daemon logs \"reload failed\"")
    ctx.check(d.alive(), "daemon still running", d.death_note())
    r, _, _ = mint(ctx, d, cert_b, K2, "K2 after failed reload")
    ctx.check(r.status == 200, "K2 still -> 200 after the failed reload", r.describe())
    seen = certs.server_cert_sha256(d.tls_address)
    ctx.check(seen == fp_b, "still certificate B", seen)

    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("sighup_reload", body))
