#!/usr/bin/env python3
"""HTTP edges of the credential service on the TLS listener (curl, verified against the test
certificate), per docs/configuration.md "Requests and responses":
 - methods: PUT/DELETE -> 405 with Allow: GET, POST, OPTIONS; unknown path -> 404 JSON;
 - POST bodies: form (Ttl=77&format=twilio) honoured; text/plain -> 415; over 16 KiB -> 413;
   headers over 8 KiB -> 431;
 - ttl: 0, -5, 1.5, abc -> 400; a positive integer above max_ttl is cut to max_ttl, however
   many digits it has (4294967296 and 99999999999);
 - the key: "bearer" in lower case works, "Basic <key>" is refused (401);
 - connection handling: two requests on one keep-alive connection, HTTP/1.0, and a client that
   offers h2 gets HTTP/1.1 (ALPN);
 - /metrics on a TLS listener without a "metrics" key -> 404 (default: only "http" listeners)."""

import subprocess
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, credentials, daemon_config, http_client,  # noqa: E402
                              runner)

MAX_TTL = 7200


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: daemon_config.credentials_config(
        b, cert, key, credentials=daemon_config.credentials_block(ttl=3600, max_ttl=MAX_TTL)))
    url = http_client.https_url(d, "/turn-credentials")

    def req(**kw) -> http_client.HttpResult:
        headers = kw.pop("headers", [credentials.bearer()])
        r = http_client.curl(kw.pop("url", url), cacert=cert, headers=headers, **kw)
        print(f"    -> {r.describe()[:120]}")
        return r

    checks.section("methods and paths")
    for method in ("PUT", "DELETE"):
        r = req(method=method)
        ctx.check(r.status == 405 and r.header("allow") == "GET, POST, OPTIONS",
                  f"{method} -> 405 with Allow: GET, POST, OPTIONS", f"{r.status} {r.header('allow')}")
    r = req(url=http_client.https_url(d, "/nope"))
    ctx.check(r.status == 404 and (r.json() or {}).get("error") == "not_found",
              "unknown path -> 404 {error: not_found}", r.describe())

    checks.section("bodies and limits")
    r = req(headers=[credentials.bearer(), "Content-Type: application/x-www-form-urlencoded"],
            data="Ttl=77&format=twilio")
    tw = r.json() or {}
    ctx.check(r.status == 200 and tw.get("ttl") == "77" and "ice_servers" in tw,
              "form body Ttl=77&format=twilio -> Twilio shape with ttl \"77\"", r.describe())
    r = req(headers=[credentials.bearer(), "Content-Type: text/plain"], data="ttl=60")
    ctx.check(r.status == 415, "text/plain body -> 415", r.describe())
    r = req(headers=[credentials.bearer(), "Content-Type: application/json"],
            data='{"ttl": 60, "pad": "' + "x" * (17 * 1024) + '"}')
    ctx.check(r.status == 413, "17 KiB body -> 413", r.describe())
    r = req(headers=[credentials.bearer(), "X-Pad: " + "a" * (9 * 1024)])
    ctx.check(r.status == 431, "9 KiB header -> 431", r.describe())
    r = req()
    ctx.check(r.status == 200, "a normal request still works afterwards", r.describe())

    checks.section("ttl values")
    for text in ("0", "-5", "1.5", "abc", ""):
        r = req(url=f"{url}?ttl={text}")
        ctx.check(r.status == 400, f"?ttl={text} -> 400", r.describe())
    r = req(headers=[credentials.bearer(), "Content-Type: application/json"], data='{"ttl": 1.5}')
    ctx.check(r.status == 400, "JSON {\"ttl\": 1.5} -> 400", r.describe())
    for text in ("4294967296", "99999999999"):
        r = req(url=f"{url}?ttl={text}")
        ctx.check(r.status == 200 and (r.json() or {}).get("ttl") == MAX_TTL,
                  f"?ttl={text} ({len(text)} digits, a positive integer) is cut to max_ttl {MAX_TTL}"
                  " (docs: 'Longer than max_ttl is cut to max_ttl')", r.describe())

    checks.section("the key")
    r = req(headers=[f"authorization: bearer {daemon_config.API_KEY}"])
    ctx.check(r.status == 200, "\"authorization: bearer <key>\" (lower case) -> 200", r.describe())
    r = req(headers=[f"Authorization: Basic {daemon_config.API_KEY}"])
    ctx.check(r.status == 401, "\"Authorization: Basic <key>\" -> 401", r.describe())
    r = req(url=f"{url}?username=zed")
    ctx.check(r.status == 200 and str((r.json() or {}).get("username", "")).endswith(":" + daemon_config.API_KEY_LABEL),
              "?username= is ignored when a key is given (the label names the user)", r.describe())

    checks.section("connections")
    curl = ["curl", "-sS", "--max-time", "10", "--cacert", cert, "-H", credentials.bearer()]
    p = subprocess.run(curl + ["-v", url, url + "?ttl=9"], capture_output=True, text=True, timeout=30)
    reused = "Re-using existing" in p.stderr or "Reusing existing" in p.stderr
    ctx.check(p.returncode == 0 and p.stdout.count('"iceServers"') == 2 and reused,
              "two requests on one keep-alive TLS connection", f"rc={p.returncode} reused={reused}")
    p = subprocess.run(curl + ["--http1.0", "-o", "/dev/null", "-D", "-", url],
                       capture_output=True, text=True, timeout=30)
    head = p.stdout.replace("\r", "").lower()
    ctx.check(head.startswith("http/1.1 200") or head.startswith("http/1.0 200"),
              "HTTP/1.0 request -> 200", p.stdout[:100] + p.stderr[:200])
    ctx.check("\nconnection: close" in head, "... with Connection: close (no keep-alive asked)",
              p.stdout[:300])
    p = subprocess.run(curl + ["--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", url],
                       capture_output=True, text=True, timeout=30)
    ctx.check(p.stdout.strip() == "200 1.1", "a client offering h2 gets HTTP/1.1 (ALPN) -> 200",
              p.stdout + p.stderr[:200])

    checks.section("/metrics on the TLS listener (no \"metrics\" key)")
    r = req(url=http_client.https_url(d, "/metrics"), headers=[])
    ctx.check(r.status == 404, "/metrics on a tls listener by default -> 404", r.describe())

    ctx.check(d.alive(), "daemon still running", d.death_note())
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("creds_edge", body))
