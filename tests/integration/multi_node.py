#!/usr/bin/env python3
"""Several relays share nothing but the REST secret (docs/scaling.md, "Sharing the secret"): a
credential minted by one relay is accepted by any other relay with the same auth.rest_secrets.

Two independent turnpiked instances on distinct loopback addresses (Linux routes all of
127.0.0.0/8 to lo): node A on 127.0.0.1, node B on 127.0.0.2. Each has its own port block, its own
udp/tcp/tls listeners, its own relay address and port range, its own self-signed certificate
(subjectAltName = its address), a private http listener for /metrics, and the SAME
auth.rest_secrets and the same credentials block (same api key; hosts = that node's address only).
 1. GET https://A/turn-credentials (curl, Bearer key): the credential is the shared secret's
    HMAC and A's URLs name only 127.0.0.1; the same from B names only 127.0.0.2;
 2. A's credential relays THROUGH B with turnutils_uclient over UDP and over TLS (-t -S),
    4 clients x 100 packets to a turnutils_peer on 127.0.0.1: 0 lost;
 3. the reverse: B's credential relays through A (UDP and TLS), 0 lost;
 4. a credential of the same form minted with ANOTHER secret is refused by both nodes: Allocate
    -> 401 (Python STUN client), turnutils_uclient with it fails, and each node counts it in
    turnpike_auth_failures_total{reason="wrong credentials"};
 5. both daemons exit 0 on SIGTERM."""

import json
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, credentials, daemon, daemon_config,  # noqa: E402
                              http_client, net, prometheus, runner, stun_codec,
                              tools, turn_client, turnutils)

IP_A = "127.0.0.1"
IP_B = "127.0.0.2"
TTL = 3600
SHARED_SECRETS = list(daemon_config.REST_SECRETS)  # both nodes: the first mints, all verify
OTHER_SECRET = "a-secret-neither-node-knows"


class NodeDaemon(daemon.Daemon):
    """A harness Daemon whose listeners (and relay) are on `ip` instead of 127.0.0.1. Its port
    block is still reserved (file-locked, checked free) by the harness."""

    def __init__(self, binary: str, workdir: str, name: str, ip: str):
        super().__init__(binary, workdir, name)
        self.ip = ip

    @property
    def address(self) -> tuple:
        return (self.ip, self.block.listener)

    @property
    def tcp_address(self) -> tuple:
        return (self.ip, self.block.tcp_listener)

    @property
    def tls_address(self) -> tuple:
        return (self.ip, self.block.tls_listener)

    @property
    def http_address(self) -> tuple:
        return (self.ip, net.http_listener_port(self.block))


def make_node_cert(workdir: str, name: str, ip: str) -> tuple:
    """A throw-away self-signed certificate for `ip` (CN and subjectAltName IP), its own CA."""
    cert, key = f"{workdir}/{name}.crt", f"{workdir}/{name}.key"
    r = tools.run_tool(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", f"/CN={ip}",
                        "-addext", f"subjectAltName=IP:{ip}"], timeout_s=60)
    if r.rc != 0:
        raise checks.Fatal(f"openssl req failed (rc={r.rc}): {r.output.strip()[-300:]}")
    return cert, key


def node_config(block: net.PortBlock, ip: str, cert: str, key: str) -> dict:
    """credentials_config (udp, tcp, tls + http metrics listener) moved to `ip`, with the shared
    secrets and a credentials block that names only this node."""
    creds = daemon_config.credentials_block(ttl=TTL, hosts=[ip])
    cfg = daemon_config.credentials_config(block, cert, key, credentials=creds, http_listener=True)
    for listener in cfg["listeners"]:
        listener["address"] = ip
    cfg["relay"]["address"] = ip
    cfg["auth"]["rest_secrets"] = list(SHARED_SECRETS)
    return cfg


def start_node(ctx: runner.Context, name: str, ip: str) -> tuple:
    cert, key = make_node_cert(ctx.workdir, name, ip)
    d = NodeDaemon(ctx.args.daemon, ctx.workdir, name, ip)
    ctx.daemons.append(d)  # so the driver kills it and prints its log on failure
    d.start(lambda b: node_config(b, ip, cert, key))
    print(f"  {name}: udp {ip}:{d.address[1]}, tcp :{d.tcp_address[1]}, tls :{d.tls_address[1]}, "
          f"http (metrics) :{d.http_address[1]}, relay {ip}:{d.block.relay_min}-{d.block.relay_max}")
    return d, cert


def fetch_credentials(ctx: runner.Context, d: NodeDaemon, cert: str) -> tuple:
    """GET /turn-credentials from node d; checks the credential and that the URLs name only d."""
    now = int(time.time())
    r = http_client.curl(http_client.https_url(d, "/turn-credentials"), cacert=cert, headers=[credentials.bearer()])
    print(f"    -> {r.describe()[:160]}")
    body = r.json()
    ctx.require(r.status == 200 and isinstance(body, dict),
                f"{d.name}: GET /turn-credentials with the api key -> 200 JSON", r.describe())
    user, pw = body.get("username"), body.get("password")
    credentials.check_rest_credential(ctx, f"{d.name} credential", user, pw, SHARED_SECRETS[0],
                                      daemon_config.API_KEY_LABEL, now, TTL)
    uris = body.get("uris") or []
    expected = [f"turn:{d.ip}:{d.address[1]}?transport=udp",
                f"turn:{d.ip}:{d.tcp_address[1]}?transport=tcp",
                f"turns:{d.ip}:{d.tls_address[1]}?transport=tcp"]
    ctx.check(uris == expected, f"{d.name}: uris name only its own host {d.ip}", str(uris))
    ctx.require(isinstance(user, str) and isinstance(pw, str), f"{d.name}: got a credential")
    print(f"  {d.name} minted username {user!r}")
    return user, pw


def relay_through(ctx: runner.Context, via: NodeDaemon, minted_by: str, user: str, pw: str) -> None:
    cred = ["-u", user, "-w", pw]
    tag = f"{minted_by}-creds-via-{via.name}"
    turnutils.uclient_run(ctx, via, f"{tag}-udp", cred, n=100, m=4)
    turnutils.uclient_run(ctx, via, f"{tag}-tls", cred, n=100, m=4, transport_args=["-t", "-S"],
                          port=via.tls_address[1])


def wrong_credential_failures(ctx: runner.Context, d: NodeDaemon) -> float:
    """turnpike_auth_failures_total{reason="wrong credentials"} of node d (0 when absent)."""
    host, port = d.http_address
    r = http_client.curl(f"http://{host}:{port}/metrics", quiet=True)
    if r.status != 200:
        ctx.check(False, f"{d.name}: GET /metrics -> 200", r.describe())
        return -1
    try:
        fams = prometheus.parse_prometheus(r.text())
    except prometheus.PromFormatError as e:
        ctx.check(False, f"{d.name}: /metrics parses", str(e))
        return -1
    return prometheus.prom_value(fams, "turnpike_auth_failures_total", reason="wrong credentials") or 0.0


def check_foreign_secret_refused(ctx: runner.Context, d: NodeDaemon) -> None:
    user, pw = credentials.rest_credential(OTHER_SECRET, daemon_config.API_KEY_LABEL, int(time.time()) + TTL)
    print(f"  {d.name}: {user!r} with an HMAC of another secret")
    before = wrong_credential_failures(ctx, d)

    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate(user, pw)
    ctx.check(resp is not None and resp.code() == 401,
              f"{d.name}: Allocate with the foreign-secret credential -> 401", checks.describe(resp))

    # Control: the same username with the shared secret's HMAC allocates (so the 401 above is
    # about the secret, not the username).
    good_pw = credentials.rest_password(SHARED_SECRETS[0], user)
    with turn_client.TurnClient(d.address) as c:
        resp = c.allocate(user, good_pw)
        if resp is not None and resp.cls == stun_codec.SUCCESS:
            c.refresh(0)
    ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
              f"{d.name}: control, same username with the shared secret's HMAC -> success",
              checks.describe(resp))

    uclient = tools.find_tool("turnutils_uclient")
    peer_port = turnutils.ensure_peer(ctx, d)
    cmd = [uclient, "-u", user, "-w", pw, "-e", net.LOOPBACK, "-r", str(peer_port),
           "-p", str(d.address[1]), "-n", "5", "-m", "1", "-l", "120"]
    if ctx.args.no_rtcp:
        cmd.append("-c")
    cmd.append(d.ip)
    r = ctx.tool(cmd, 20, f"{d.name}-foreign-secret")
    stats = turnutils.parse_uclient(r.output)
    print(f"  uclient with the foreign-secret credential on {d.name}: rc={r.rc}, "
          f"received={stats.received}")
    for line in r.output.strip().splitlines()[-3:]:
        print(f"    | {line.strip()}")
    ctx.check(r.rc != 0 and not stats.received,
              f"{d.name}: turnutils_uclient with the foreign-secret credential fails (no relay)",
              f"rc={r.rc} sent={stats.sent} received={stats.received}")

    # Other workers' figures reach /metrics on their next tick (at most 500 ms later).
    deadline = time.monotonic() + 3.0
    while True:
        after = wrong_credential_failures(ctx, d)
        if after >= before + 2 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    print(f"  {d.name}: turnpike_auth_failures_total{{reason=\"wrong credentials\"}} "
          f"{before:g} -> {after:g}")
    ctx.check(after >= before + 2, f"{d.name}: counted as \"wrong credentials\" "
              "(Python client + uclient)", f"{before} -> {after}")


def read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def body(ctx: runner.Context) -> None:
    checks.section("two relays: A on 127.0.0.1, B on 127.0.0.2, same rest_secrets")
    a, cert_a = start_node(ctx, "node-a", IP_A)
    b, cert_b = start_node(ctx, "node-b", IP_B)
    ctx.check(a.block.base != b.block.base and a.address[0] != b.address[0],
              "distinct addresses and port blocks (relay ranges "
              f"{a.block.relay_min}-{a.block.relay_max} / {b.block.relay_min}-{b.block.relay_max})")
    cfg_a, cfg_b = (read_json(d.config_path) for d in (a, b))
    ctx.check(cfg_a["auth"]["rest_secrets"] == cfg_b["auth"]["rest_secrets"]
              and cfg_a["credentials"]["api_keys"] == cfg_b["credentials"]["api_keys"],
              "both configs carry the same auth.rest_secrets and api key")
    turnutils.ensure_peer(ctx, a)  # one turnutils_peer on 127.0.0.1 (A's block) for every run

    checks.section("1. credentials from each node's /turn-credentials")
    user_a, pw_a = fetch_credentials(ctx, a, cert_a)
    user_b, pw_b = fetch_credentials(ctx, b, cert_b)

    checks.section("2. A's credential relays through B (UDP, then TLS)")
    relay_through(ctx, b, "A", user_a, pw_a)

    checks.section("3. B's credential relays through A (UDP, then TLS)")
    relay_through(ctx, a, "B", user_b, pw_b)

    checks.section("4. a credential minted with another secret is refused by both")
    check_foreign_secret_refused(ctx, a)
    check_foreign_secret_refused(ctx, b)

    checks.section("5. shutdown")
    ctx.stop_daemon(a)
    ctx.stop_daemon(b)


if __name__ == "__main__":
    sys.exit(runner.main("multi_node", body))
