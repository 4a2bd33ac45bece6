#!/usr/bin/env python3
"""The HTTPS credential service on the shared TLS listener (TURN and HTTP on one port), driven
with the curl binary, which verifies the server against the test's self-signed certificate
(--cacert). Three daemons:
 A. api key + CORS origin, per-IP/per-key limits out of the way:
    1. GET /turn-credentials with "Authorization: Bearer <key>" -> 200, Content-Type JSON,
       Cache-Control no-store and exactly {iceServers, ttl, expiresAt, username, password, uris}:
       iceServers[0].urls = the stun: URLs, iceServers[1].urls the turn:/turns: URLs (incl.
       turns:127.0.0.1:<tls port>?transport=tcp) with username "<expiry>:<label>" and credential
       base64(HMAC-SHA1(secret, username)) computed here; ttl = credentials.ttl; expiresAt the
       RFC 3339 form of the expiry; uris = iceServers[1].urls;
    2. THOSE credentials relay with turnutils_uclient -t -S -u USER -w PASS on the SAME TLS port
       (4 clients x 100 packets): 0 loss;
    3. X-API-Key header, POST with a JSON body, ?ttl above max_ttl cut to max_ttl, /healthz over
       HTTPS and over TLS without ALPN (the first byte decides);
    4. wrong key -> 401 with a JSON error body and WWW-Authenticate: Bearer; no key -> 401;
    5. ?ttl=5 -> credentials that allocate now; after their expiry (+2 s) an Allocate with them
       gets 401;
    6. CORS: a GET from an allowed Origin carries Access-Control-Allow-Origin; a preflight
       (OPTIONS) from it -> 204 with the allow headers; from another origin -> 403, no ACAO;
    7. ?format=twilio and ?format=cloudflare: JSON with the documented fields; their credentials
       relay with turnutils_uclient over UDP (2 clients x 20 packets), 0 loss.
 B. anonymous mode, per_ip_per_minute 3: no key -> 200 ("<expiry>:anonymous"), ?username=bob
    -> "<expiry>:bob", a wrong key -> 401 (still refused), the 4th request -> 429 with
    Retry-After (the limit counts before the key check).
 C. per_key_per_minute 2, two keys: key 1 twice -> 200, a third time -> 429 with Retry-After;
    key 2 -> still 200 (its own budget)."""

import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, credentials, daemon, daemon_config,  # noqa: E402
                              http_client, net, runner, streams, stun_codec,
                              turn_client, turnutils)

ORIGIN_OK = "https://app.example.test"
ORIGIN_BAD = "https://evil.example.test"
TTL = 3600
MAX_TTL = 7200
SECRET = daemon_config.REST_SECRETS[0]  # rest_secrets[0] mints


def expected_urls(d: daemon.Daemon) -> tuple[list, list]:
    host, udp = d.address
    tcp, tls = d.tcp_address[1], d.tls_address[1]
    stun = [f"stun:{host}:{udp}", f"stun:{host}:{tcp}"]
    turn = [f"turn:{host}:{udp}?transport=udp", f"turn:{host}:{tcp}?transport=tcp",
            f"turns:{host}:{tls}?transport=tcp"]
    return stun, turn


def get_creds(ctx, d, cert, what, query="", headers=None, **kw) -> http_client.HttpResult:
    r = http_client.curl(http_client.https_url(d, "/turn-credentials" + query), cacert=cert,
                         headers=[credentials.bearer()] if headers is None else headers, **kw)
    print(f"    -> {r.describe()[:160]}")
    return r


def check_default_shape(ctx, d, r: http_client.HttpResult, what: str, ttl: int, now: int):
    """Checks the default response shape; returns (username, password) or (None, None)."""
    body = r.json()
    ok = ctx.check(r.status == 200 and isinstance(body, dict), f"{what}: 200 with a JSON object",
                   r.describe())
    if not ok:
        return None, None
    ctx.check((r.header("content-type") or "").startswith("application/json"),
              f"{what}: Content-Type application/json", str(r.header("content-type")))
    ctx.check(r.header("cache-control") == "no-store", f"{what}: Cache-Control: no-store",
              str(r.header("cache-control")))
    ctx.check(list(body.keys()) == ["iceServers", "ttl", "expiresAt", "username", "password", "uris"],
              f"{what}: keys are exactly iceServers, ttl, expiresAt, username, password, uris",
              str(list(body.keys())))
    stun, turn = expected_urls(d)
    servers = body.get("iceServers")
    ok = ctx.check(isinstance(servers, list) and len(servers) == 2
                   and all(isinstance(s, dict) for s in servers),
                   f"{what}: iceServers is a list of 2 objects", str(servers)[:300])
    if not ok:
        return None, None
    s0, s1 = servers
    ctx.check(list(s0.keys()) == ["urls"] and s0["urls"] == stun,
              f"{what}: iceServers[0] = {{urls: {stun}}} (stun: only, no credential)", str(s0))
    ctx.check(sorted(s1.keys()) == ["credential", "urls", "username"],
              f"{what}: iceServers[1] has exactly urls, username, credential", str(list(s1.keys())))
    ctx.check(s1.get("urls") == turn, f"{what}: iceServers[1].urls = {turn}", str(s1.get("urls")))
    tls_url = f"turns:{net.LOOPBACK}:{d.tls_address[1]}?transport=tcp"
    ctx.check(tls_url in (s1.get("urls") or []), f"{what}: iceServers[1].urls has {tls_url}")
    user, pw = s1.get("username"), s1.get("credential")
    expiry = credentials.check_rest_credential(ctx, what, user, pw, SECRET, daemon_config.API_KEY_LABEL, now, ttl)
    ctx.check(body.get("ttl") == ttl and isinstance(body.get("ttl"), int),
              f"{what}: ttl is the integer {ttl}", repr(body.get("ttl")))
    if expiry is not None:
        ctx.check(body.get("expiresAt") == http_client.rfc3339_utc(expiry),
                  f"{what}: expiresAt is the RFC 3339 UTC form of the expiry {expiry} "
                  f"({http_client.rfc3339_utc(expiry)})", repr(body.get("expiresAt")))
    ctx.check(body.get("username") == user and body.get("password") == pw,
              f"{what}: top-level username/password = iceServers[1].username/credential")
    ctx.check(body.get("uris") == turn, f"{what}: uris = the turn:/turns: URLs", str(body.get("uris")))
    return user, pw


def allocate_once(ctx, d, user, pw, what) -> stun_codec.StunMessage:
    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate(user, pw)
        if resp is not None and resp.cls == stun_codec.SUCCESS:
            c.refresh(0)
    return resp


def test_main(ctx: runner.Context, cert: str, key: str) -> None:
    creds = daemon_config.credentials_block(ttl=TTL, max_ttl=MAX_TTL, cors_origins=[ORIGIN_OK])
    d = ctx.start_daemon(lambda b: daemon_config.credentials_config(b, cert, key, credentials=creds),
                         name="turnpiked-keys")
    print(f"  TLS listener (TURN + HTTPS) on {d.tls_address[0]}:{d.tls_address[1]}")

    checks.section("1. valid API key: the default JSON shape")
    now = int(time.time())
    r = get_creds(ctx, d, cert, "valid key")
    user, pw = check_default_shape(ctx, d, r, "GET with Bearer key", TTL, now)
    ctx.require(user is not None and pw is not None, "got a credential to relay with")
    print(f"  minted username {user!r}")

    checks.section("2. those exact credentials relay over TURN/TLS on the same port (uclient -t -S)")
    turnutils.uclient_run(ctx, d, "tls-minted", ["-u", user, "-w", pw], transport_args=["-t", "-S"],
                          port=d.tls_address[1])

    checks.section("3. other ways to ask: X-API-Key, POST JSON, ttl above max_ttl, /healthz")
    r = get_creds(ctx, d, cert, "x-api-key", headers=[f"X-API-Key: {daemon_config.API_KEY}"])
    body = r.json() or {}
    ctx.check(r.status == 200 and body.get("username", "").endswith(":" + daemon_config.API_KEY_LABEL),
              "X-API-Key: <key> -> 200 with a credential for the key's label", r.describe())
    now = int(time.time())
    r = get_creds(ctx, d, cert, "post", headers=[credentials.bearer(), "Content-Type: application/json"],
                  data='{"ttl": 60}')
    body = r.json() or {}
    ctx.check(r.status == 200 and body.get("ttl") == 60, "POST {\"ttl\": 60} -> 200, ttl 60",
              r.describe())
    if r.status == 200:
        credentials.check_rest_credential(ctx, "POST ttl 60", body.get("username"), body.get("password"),
                                          SECRET, daemon_config.API_KEY_LABEL, now, 60)
    r = get_creds(ctx, d, cert, "ttl too long", query=f"?ttl={MAX_TTL * 10}")
    body = r.json() or {}
    ctx.check(r.status == 200 and body.get("ttl") == MAX_TTL,
              f"?ttl={MAX_TTL * 10} is cut to max_ttl {MAX_TTL}", r.describe())
    r = get_creds(ctx, d, cert, "ttl bad", query="?ttl=abc")
    ctx.check(r.status == 400 and (r.json() or {}).get("error") == "bad_request",
              "?ttl=abc -> 400 bad_request", r.describe())
    r = http_client.curl(http_client.https_url(d, "/healthz"), cacert=cert)
    ctx.check(r.status == 200 and r.json() == {"status": "ok"}, "GET /healthz over HTTPS -> 200 "
              "{\"status\":\"ok\"}", r.describe())
    # Without ALPN (Python's ssl offers none here), the first byte of the plaintext decides.
    with streams.connect_stream(d.tls_address, tls=True) as s:
        ctx.check(s.selected_alpn_protocol() is None, "raw TLS client: no ALPN negotiated",
                  str(s.selected_alpn_protocol()))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        s.settimeout(5)
        try:
            while len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, OSError) as e:
            print(f"    (read ended: {type(e).__name__})")
    ctx.check(data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"status":"ok"}'),
              "GET /healthz over TLS without ALPN (first-byte demux) -> 200", repr(data[:120]))

    checks.section("4. wrong key and no key -> 401")
    for label, headers in (("wrong key", [credentials.bearer("not-the-key-0123456789")]),
                           ("no key", [])):
        r = get_creds(ctx, d, cert, label, headers=headers)
        body = r.json()
        ctx.check(r.status == 401, f"{label}: 401", r.describe())
        ctx.check(isinstance(body, dict) and body.get("error") == "unauthorized"
                  and isinstance(body.get("message"), str),
                  f"{label}: JSON body {{error: unauthorized, message}}", r.text()[:200])
        ctx.check((r.header("www-authenticate") or "").startswith("Bearer"),
                  f"{label}: WWW-Authenticate: Bearer", str(r.header("www-authenticate")))
        ctx.check("username" not in r.text() and "credential" not in r.text(),
                  f"{label}: no credential in the body")
    r = get_creds(ctx, d, cert, "bearer but empty", headers=["Authorization: Bearer "])
    ctx.check(r.status == 401, "\"Authorization: Bearer \" (empty key) -> 401", r.describe())

    checks.section("5. ?ttl=5: works now, refused after expiry")
    now = int(time.time())
    r = get_creds(ctx, d, cert, "ttl 5", query="?ttl=5")
    body = r.json() or {}
    ctx.check(r.status == 200 and body.get("ttl") == 5, "?ttl=5 -> 200, ttl 5", r.describe())
    short_user, short_pw = body.get("username"), body.get("password")
    expiry = credentials.check_rest_credential(ctx, "ttl=5", short_user, short_pw, SECRET, daemon_config.API_KEY_LABEL,
                                               now, 5)
    if expiry is not None:
        resp = allocate_once(ctx, d, short_user, short_pw, "fresh")
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  f"Allocate with the 5 s credential right away (expires in {expiry - time.time():.1f} s)"
                  " -> success", checks.describe(resp))
        wait = expiry + 2 - time.time()
        print(f"  sleeping {wait:.1f} s until 2 s past the expiry")
        time.sleep(max(0.0, wait))
        resp = allocate_once(ctx, d, short_user, short_pw, "expired")
        ctx.check(resp is not None and resp.code() == 401,
                  f"Allocate with it {time.time() - expiry:.1f} s after its expiry -> 401",
                  checks.describe(resp))

    checks.section("6. CORS")
    r = get_creds(ctx, d, cert, "cors get", headers=[credentials.bearer(), f"Origin: {ORIGIN_OK}"])
    ctx.check(r.status == 200 and r.header("access-control-allow-origin") == ORIGIN_OK,
              f"GET with Origin {ORIGIN_OK} -> 200 with Access-Control-Allow-Origin: {ORIGIN_OK}",
              f"{r.status} ACAO={r.header('access-control-allow-origin')}")
    ctx.check("origin" in (r.header("vary") or "").lower(), "... and Vary: Origin",
              str(r.header("vary")))
    pre = ["Access-Control-Request-Method: GET",
           "Access-Control-Request-Headers: authorization"]
    r = http_client.curl(http_client.https_url(d, "/turn-credentials"), cacert=cert, method="OPTIONS",
                         headers=[f"Origin: {ORIGIN_OK}"] + pre)
    ctx.check(r.status == 204, f"preflight OPTIONS from {ORIGIN_OK} -> 204", r.describe())
    ctx.check(r.header("access-control-allow-origin") == ORIGIN_OK,
              "preflight: Access-Control-Allow-Origin is the origin",
              str(r.header("access-control-allow-origin")))
    methods = [m.strip() for m in (r.header("access-control-allow-methods") or "").split(",")]
    ctx.check("GET" in methods and "POST" in methods, "preflight: Allow-Methods has GET and POST",
              str(r.header("access-control-allow-methods")))
    allowed = (r.header("access-control-allow-headers") or "").lower()
    ctx.check("authorization" in allowed, "preflight: Allow-Headers has Authorization",
              str(r.header("access-control-allow-headers")))
    ctx.check((r.header("access-control-max-age") or "").isdigit(), "preflight: Max-Age set",
              str(r.header("access-control-max-age")))
    r = http_client.curl(http_client.https_url(d, "/turn-credentials"), cacert=cert, method="OPTIONS",
                         headers=[f"Origin: {ORIGIN_BAD}"] + pre)
    ctx.check(r.status == 403, f"preflight OPTIONS from {ORIGIN_BAD} -> 403", r.describe())
    ctx.check(r.header("access-control-allow-origin") is None,
              "... without Access-Control-Allow-Origin", str(r.header("access-control-allow-origin")))
    r = get_creds(ctx, d, cert, "cors bad get", headers=[credentials.bearer(), f"Origin: {ORIGIN_BAD}"])
    ctx.check(r.header("access-control-allow-origin") is None,
              f"GET with Origin {ORIGIN_BAD}: no Access-Control-Allow-Origin",
              str(r.header("access-control-allow-origin")))

    checks.section("7. ?format=twilio and ?format=cloudflare")
    stun, turn = expected_urls(d)
    now = int(time.time())
    r = get_creds(ctx, d, cert, "twilio", query="?format=twilio")
    tw = r.json()
    ok = ctx.check(r.status == 200 and isinstance(tw, dict), "format=twilio: 200 JSON object",
                   r.describe())
    if ok:
        for k in ("username", "password", "ttl", "account_sid", "ice_servers", "date_created",
                  "date_updated"):
            ctx.check(k in tw, f"twilio: has {k}")
        ctx.check(tw.get("ttl") == str(TTL), f"twilio: ttl is the string \"{TTL}\"", repr(tw.get("ttl")))
        ctx.check(isinstance(tw.get("account_sid"), str) and tw["account_sid"].startswith("AC")
                  and len(tw["account_sid"]) == 34, "twilio: account_sid looks like a Twilio SID",
                  repr(tw.get("account_sid")))
        for k in ("date_created", "date_updated"):
            t = http_client.rfc2822_to_unix(str(tw.get(k)))
            ctx.check(t is not None and abs(t - now) <= 5, f"twilio: {k} is RFC 2822 and now",
                      repr(tw.get(k)))
        servers = tw.get("ice_servers") or []
        ctx.check([s.get("urls") for s in servers] == stun + turn
                  and all(s.get("url") == s.get("urls") for s in servers),
                  "twilio: ice_servers has one entry per URL with url == urls (a string)",
                  str([s.get("urls") for s in servers]))
        ctx.check(all(s.get("username") == tw.get("username") and s.get("credential") == tw.get("password")
                      for s in servers if str(s.get("urls")).startswith("turn")),
                  "twilio: every turn(s) entry carries the username and credential")
        ctx.check(all("credential" not in s for s in servers if str(s.get("urls")).startswith("stun")),
                  "twilio: stun entries carry no credential")
        credentials.check_rest_credential(ctx, "twilio", tw.get("username"), tw.get("password"), SECRET,
                                          daemon_config.API_KEY_LABEL, now, TTL)
        turnutils.uclient_run(ctx, d, "udp-twilio", ["-u", tw["username"], "-w", tw["password"]], n=20, m=2)

    r = get_creds(ctx, d, cert, "cloudflare", query="?format=cloudflare")
    cf = r.json()
    ok = ctx.check(r.status == 200 and isinstance(cf, dict) and list(cf.keys()) == ["iceServers"],
                   "format=cloudflare: 200, exactly {iceServers}", r.describe())
    if ok:
        servers = cf["iceServers"]
        ctx.check(len(servers) == 2 and servers[0] == {"urls": stun} and servers[1].get("urls") == turn,
                  "cloudflare: iceServers = [{urls: stun}, {urls: turn, username, credential}]",
                  str(servers)[:300])
        u, p = servers[1].get("username"), servers[1].get("credential")
        credentials.check_rest_credential(ctx, "cloudflare", u, p, SECRET, daemon_config.API_KEY_LABEL,
                                          int(time.time()), TTL)
        if isinstance(u, str) and isinstance(p, str):
            turnutils.uclient_run(ctx, d, "udp-cloudflare", ["-u", u, "-w", p], n=20, m=2)

    r = get_creds(ctx, d, cert, "bad format", query="?format=xml")
    ctx.check(r.status == 400, "?format=xml -> 400", r.describe())

    ctx.check(d.alive(), "daemon A still running", d.death_note())
    ctx.stop_daemon(d)


def test_anonymous_rate_limit(ctx: runner.Context, cert: str, key: str) -> None:
    checks.section("B. anonymous mode with per_ip_per_minute 3")
    creds = daemon_config.credentials_block(api_keys=[{"label": daemon_config.API_KEY_LABEL,
                                                       "key": daemon_config.API_KEY}],
                                            anonymous=True,
                                            rate_limit={"per_ip_per_minute": 3, "per_key_per_minute": 0})
    d = ctx.start_daemon(lambda b: daemon_config.credentials_config(b, cert, key, credentials=creds),
                         name="turnpiked-anon")
    now = int(time.time())
    r = get_creds(ctx, d, cert, "anonymous", headers=[])
    body = r.json() or {}
    ctx.check(r.status == 200, "anonymous: no key -> 200", r.describe())
    if r.status == 200:
        credentials.check_rest_credential(ctx, "anonymous", body.get("username"), body.get("password"), SECRET,
                                          "anonymous", now, 86400)
        resp = allocate_once(ctx, d, body["username"], body["password"], "anonymous")
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS, "anonymous credential allocates",
                  checks.describe(resp))
    r = get_creds(ctx, d, cert, "anonymous bob", query="?username=bob", headers=[])
    body = r.json() or {}
    ctx.check(r.status == 200 and str(body.get("username", "")).endswith(":bob"),
              "anonymous ?username=bob -> 200, username \"<expiry>:bob\"", r.describe())
    r = get_creds(ctx, d, cert, "anonymous wrong key", headers=[credentials.bearer("wrong-key-0123456789abc")])
    ctx.check(r.status == 401, "anonymous mode: a wrong key is still 401", r.describe())
    r = get_creds(ctx, d, cert, "4th", headers=[])
    retry = r.header("retry-after")
    ctx.check(r.status == 429, "the 4th request within a minute -> 429", r.describe())
    ctx.check(retry is not None and retry.isdigit() and 1 <= int(retry) <= 60,
              "429 carries Retry-After: <seconds> (1..60)", str(retry))
    ctx.check((r.json() or {}).get("error") == "rate_limited", "429 body: error rate_limited",
              r.text()[:200])
    r = get_creds(ctx, d, cert, "5th with key", headers=[credentials.bearer()])
    ctx.check(r.status == 429, "a 5th request, with a valid key, is limited too (per IP)",
              r.describe())
    ctx.stop_daemon(d)


def test_key_rate_limit(ctx: runner.Context, cert: str, key: str) -> None:
    checks.section("C. per_key_per_minute 2")
    key2 = "it-second-key-abcdefghijklmnop"
    creds = daemon_config.credentials_block(api_keys=[{"label": daemon_config.API_KEY_LABEL,
                                                       "key": daemon_config.API_KEY},
                                                      {"label": "it-other", "key": key2}],
                                            rate_limit={"per_ip_per_minute": 0, "per_key_per_minute": 2})
    d = ctx.start_daemon(lambda b: daemon_config.credentials_config(b, cert, key, credentials=creds),
                         name="turnpiked-keylimit")
    statuses = [get_creds(ctx, d, cert, f"key1 #{i}").status for i in range(2)]
    ctx.check(statuses == [200, 200], "key 1: two requests -> 200, 200", str(statuses))
    r = get_creds(ctx, d, cert, "key1 #3")
    retry = r.header("retry-after")
    ctx.check(r.status == 429 and retry is not None and retry.isdigit() and int(retry) >= 1,
              "key 1: the third -> 429 with Retry-After", f"{r.status} Retry-After={retry}")
    r = get_creds(ctx, d, cert, "key2", headers=[credentials.bearer(key2)])
    body = r.json() or {}
    ctx.check(r.status == 200 and str(body.get("username", "")).endswith(":it-other"),
              "key 2 (label it-other) has its own budget: 200", r.describe())
    ctx.stop_daemon(d)


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    test_main(ctx, cert, key)
    test_anonymous_rate_limit(ctx, cert, key)
    test_key_rate_limit(ctx, cert, key)


if __name__ == "__main__":
    sys.exit(runner.main("creds_https", body))
