#!/usr/bin/env python3
"""/metrics: served per listener, in valid Prometheus text format, with counters that match
the traffic.
 1. Listeners: UDP, TCP, TLS ("metrics": false, the public TURN + HTTPS port) and an "http"
    listener on 127.0.0.1 ("metrics": true). GET /metrics on the TLS port -> 404 (JSON error);
    on the http listener -> 200 text/plain; version=0.0.4. /healthz answers on both.
 2. The text parses with a strict parser of the exposition format (HELP/TYPE lines, samples
    name{labels} value, every sample in a declared family, families contiguous, no duplicate
    series, counters >= 0), and with `promtool check metrics` too when promtool is installed.
 3. Traffic: 3 credential requests with the key (200) and 2 without (401) over HTTPS, then
    turnutils_uclient -t -S -n 50 -m 2 with the minted credential on the TLS port (100 packets
    each way). Afterwards, against a scrape taken before:
    turnpike_relayed_packets_total{direction="to_peer",transport="tls"} and {direction=
    "to_client",transport="tls"} moved by exactly uclient's sent/received counts (the RTCP
    allocations carry no data), relayed_bytes_total by exactly its byte counts, udp/tcp ones not
    at all; turnpike_allocations_created_total moved by >= 2;
    turnpike_credential_requests_total{status="200"} by exactly 3 and {status="401"} by 2;
    turnpike_allocations returns to 0 once uclient has closed its connections.
 4. No label value is an IP address or a username/API-key label, and label names are a small
    fixed set."""

import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, credentials, daemon, daemon_config,  # noqa: E402
                              http_client, net, prometheus, runner, tools, turnutils)

GOOD = 3  # credential requests with the key
BAD = 2   # without a key
N, M = 50, 2


def scrape(ctx: runner.Context, d: daemon.Daemon, what: str):
    url = f"http://{net.LOOPBACK}:{net.http_listener_port(d.block)}/metrics"
    r = http_client.curl(url, quiet=True)
    ctx.check(r.status == 200, f"{what}: GET /metrics on the http listener -> 200", r.describe())
    text = r.text()
    try:
        fams = prometheus.parse_prometheus(text)
    except prometheus.PromFormatError as e:
        ctx.check(False, f"{what}: /metrics parses as Prometheus text 0.0.4", str(e))
        print(text[:3000])
        return r, None
    ctx.check(True, f"{what}: /metrics parses as Prometheus text 0.0.4 ({len(fams)} families, "
                    f"{sum(len(f.samples) for f in fams.values())} samples)")
    return r, fams


def val(fams, name, **labels) -> float:
    v = prometheus.prom_value(fams, name, **labels)
    return 0.0 if v is None else v


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: daemon_config.credentials_config(b, cert, key, http_listener=True,
                                                                    tls_metrics=False))
    http_port = net.http_listener_port(d.block)
    print(f"  TLS {d.tls_address[1]} (metrics false), http {http_port} (metrics true)")

    checks.section("1. /metrics per listener")
    r = http_client.curl(http_client.https_url(d, "/metrics"), cacert=cert)
    ctx.check(r.status == 404, "GET /metrics on the TLS (TURN + HTTPS) port -> 404", r.describe())
    ctx.check((r.json() or {}).get("error") == "not_found", "... with the JSON error not_found",
              r.text()[:200])
    ctx.check("turnpike_" not in r.text(), "... and no metric in the body")
    r = http_client.curl(http_client.https_url(d, "/healthz"), cacert=cert)
    ctx.check(r.status == 200, "GET /healthz on the TLS port -> 200", r.describe())
    r = http_client.curl(f"http://{net.LOOPBACK}:{http_port}/healthz")
    ctx.check(r.status == 200, "GET /healthz on the http listener -> 200", r.describe())
    r, before = scrape(ctx, d, "first scrape")
    ctx.check((r.header("content-type") or "").startswith("text/plain; version=0.0.4"),
              "Content-Type: text/plain; version=0.0.4", str(r.header("content-type")))
    ctx.require(before is not None, "first scrape usable")

    checks.section("2. promtool (when installed)")
    promtool = shutil.which("promtool")
    if promtool is None:
        print("  promtool not installed (Debian's prometheus package is ~100 MB): only the "
              "Python parser checked the format")
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".prom", delete=False) as f:
            f.write(r.text())
        try:
            res = tools.run_tool(["sh", "-c", f"{promtool} check metrics < {f.name}"], timeout_s=30)
        finally:
            os.unlink(f.name)
        ctx.check(res.rc == 0, "promtool check metrics accepts it", res.output[-500:])

    checks.section(f"3. traffic: {GOOD} + {BAD} credential requests, uclient -t -S -n {N} -m {M}")
    user = pw = None
    for i in range(GOOD):
        r = http_client.curl(http_client.https_url(d, "/turn-credentials"), cacert=cert, headers=[credentials.bearer()])
        ctx.check(r.status == 200, f"credential request {i + 1} with the key -> 200", r.describe())
        body = r.json() or {}
        user, pw = body.get("username", user), body.get("password", pw)
    for i in range(BAD):
        r = http_client.curl(http_client.https_url(d, "/turn-credentials"), cacert=cert)
        ctx.check(r.status == 401, f"credential request {i + 1} without a key -> 401", r.describe())
    ctx.require(user is not None and pw is not None, "got a credential")
    stats = turnutils.uclient_run(ctx, d, "tls-metrics", ["-u", user, "-w", pw],
                                  transport_args=["-t", "-S"], port=d.tls_address[1], n=N, m=M)
    # Allocations go away when uclient's TLS connections close. With several workers, the other
    # workers' figures in a scrape can be up to one tick (500 ms) old: scrape until they show the
    # allocations gone and the packets counted (bounded), then compare.
    deadline = time.monotonic() + 5
    while True:
        r, after = scrape(ctx, d, "scrape after the traffic")
        ctx.require(after is not None, "second scrape usable")
        settled = (val(after, "turnpike_allocations") == 0 and
                   val(after, "turnpike_relayed_packets_total", direction="to_client", transport="tls")
                   - val(before, "turnpike_relayed_packets_total", direction="to_client",
                         transport="tls") >= (stats.received or 0))
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.3)

    def delta(name, **labels):
        return val(after, name, **labels) - val(before, name, **labels)

    to_peer = delta("turnpike_relayed_packets_total", direction="to_peer", transport="tls")
    to_client = delta("turnpike_relayed_packets_total", direction="to_client", transport="tls")
    print(f"  uclient: sent {stats.sent}, received {stats.received}, bytes {stats.sent_bytes}/"
          f"{stats.received_bytes}; metrics: to_peer +{to_peer:.0f}, to_client +{to_client:.0f}")
    ctx.check(stats.sent is not None and to_peer >= stats.sent,
              f"relayed_packets_total{{direction=to_peer,transport=tls}} moved by >= {stats.sent}",
              f"+{to_peer}")
    ctx.check(stats.received is not None and to_client >= stats.received,
              f"relayed_packets_total{{direction=to_client,transport=tls}} moved by >= {stats.received}",
              f"+{to_client}")
    ctx.check(to_peer == stats.sent and to_client == stats.received,
              "... exactly uclient's sent/received counts (RTCP allocations carry no data)",
              f"to_peer +{to_peer} vs sent {stats.sent}; to_client +{to_client} vs received "
              f"{stats.received}")
    b_peer = delta("turnpike_relayed_bytes_total", direction="to_peer", transport="tls")
    b_client = delta("turnpike_relayed_bytes_total", direction="to_client", transport="tls")
    ctx.check(b_peer == stats.sent_bytes and b_client == stats.received_bytes,
              "relayed_bytes_total{tls} moved by exactly uclient's payload bytes",
              f"to_peer +{b_peer} vs {stats.sent_bytes}; to_client +{b_client} vs "
              f"{stats.received_bytes}")
    for transport in ("udp", "tcp"):
        moved = [delta("turnpike_relayed_packets_total", direction=dr, transport=transport)
                 for dr in ("to_peer", "to_client")]
        ctx.check(moved == [0, 0], f"relayed_packets_total{{transport={transport}}} did not move",
                  str(moved))
    created = delta("turnpike_allocations_created_total")
    ctx.check(created >= M, f"allocations_created_total moved by >= {M}", f"+{created}")
    print(f"  allocations created: +{created:.0f} (uclient's RTP/RTCP pairs)")
    ctx.check(val(after, "turnpike_allocations") == 0, "turnpike_allocations back to 0",
              str(val(after, "turnpike_allocations")))
    ok200 = delta("turnpike_credential_requests_total", status="200")
    e401 = delta("turnpike_credential_requests_total", status="401")
    ctx.check(ok200 == GOOD, f"credential_requests_total{{status=\"200\"}} moved by {GOOD}",
              f"+{ok200}")
    ctx.check(e401 == BAD, f"credential_requests_total{{status=\"401\"}} moved by {BAD}", f"+{e401}")
    handshakes = delta("turnpike_tls_handshakes_total")
    print(f"  tls handshakes: +{handshakes:.0f}, connections accepted (tls): "
          f"+{delta('turnpike_connections_accepted_total', transport='tls'):.0f}")

    checks.section("4. labels never name users or addresses")
    names, values = set(), set()
    for fam in after.values():
        for _, labels, _ in fam.samples:
            names.update(labels)
            values.update(labels.values())
    print(f"  label names: {sorted(names)}")
    print(f"  label values: {sorted(values)}")
    addr = sorted(v for v in values if prometheus.label_value_is_address(v))
    ctx.check(not addr, "no label value is an IP address", str(addr))
    secrets = {user, daemon_config.API_KEY_LABEL, daemon_config.API_KEY, "alice"}
    named = sorted(v for v in values if any(s in v for s in secrets if s) or
                   ":" in v and v.split(":", 1)[0].isdigit())
    ctx.check(not named, "no label value is a username, API key or key label", str(named))
    allowed = {"direction", "transport", "reason", "status", "listener", "worker"}
    ctx.check(names <= allowed, f"label names are among {sorted(allowed)}", str(sorted(names)))

    ctx.check(d.alive(), "daemon still running", d.death_note())
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("metrics", body))
