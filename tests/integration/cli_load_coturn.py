#!/usr/bin/env python3
"""Interop: `turnpike load` against coturn's own TURN server (`turnserver`, Debian package coturn),
with `turnpike peer` as the echo peer. This is the one test that starts coturn's server: as a
comparator for the load generator, on 127.0.0.1 only, bounded in time and count.

coturn cannot mix static users and a REST secret (`--use-auth-secret` overrides `--user`), so it
runs twice on this test's port block, each with a config equivalent to the turnpiked one of the
other tests (realm turnpike.test, loopback peers allowed, relay ports inside the block, TLS with a
self-signed certificate, no CLI, no DTLS, logging to a file):
  1. long-term credentials with the static user alice (--lt-cred-mech --user): load over UDP, TCP
     and TLS (ChannelData) and over UDP with Send/Data indications;
  2. TURN REST credentials (--use-auth-secret --static-auth-secret): `turnpike load --secret`
     over UDP and TLS.
Each run is 4 allocations x 200 packets at 100 packets/s: the load exits 0 with received == sent,
loss 0, no duplicates, nothing foreign, no errors, every allocation deleted (Refresh lifetime 0);
the peer's own counts match (echoed == the load's received, received == the load's sent) and it
saw 4 relayed addresses. Skips (77) when turnserver is not installed."""

import os
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import certs, checks, daemon_config, net, runner, tools  # noqa: E402
import cli_common as c  # noqa: E402

ALLOCATIONS = 4
PACKETS = 200
RATE = 100
SIZE = 120
REST_SECRET = daemon_config.REST_SECRETS[0]
READY_TIMEOUT_S = 15.0


def tcp_accepting(port: int) -> bool:
    try:
        with socket.create_connection((net.LOOPBACK, port), timeout=1):
            return True
    except OSError:
        return False


class Coturn:
    """coturn's turnserver on 127.0.0.1: UDP+TCP on `port`, TLS on `tls_port`, relay ports
    relay_min..relay_max; the rest of its settings as described at the top."""

    def __init__(self, ctx: runner.Context, label: str, auth_args: list, port: int, tls_port: int,
                 relay_min: int, relay_max: int, cert: str, key: str):
        self.ctx = ctx
        self.label = label
        self.port = port
        self.tls_port = tls_port
        self.log_path = os.path.join(ctx.workdir, f"{label}.log")
        conf = os.path.join(ctx.workdir, f"{label}.conf")
        with open(conf, "w"):
            pass  # empty: keeps /etc/turnserver.conf out of it
        cmd = [tools.find_tool("turnserver"), "-c", conf,
               "--listening-ip", net.LOOPBACK, "--relay-ip", net.LOOPBACK,
               "--listening-port", str(port), "--tls-listening-port", str(tls_port),
               "--min-port", str(relay_min), "--max-port", str(relay_max),
               "--realm", daemon_config.REALM, *auth_args,
               "--allow-loopback-peers", "--no-cli", "--no-dtls",
               "--cert", cert, "--pkey", key,
               "--log-file", self.log_path, "--simple-log", "--no-stdout-log",
               "--pidfile", os.path.join(ctx.workdir, f"{label}.pid"),
               "--userdb", os.path.join(ctx.workdir, f"{label}.sqlite")]
        self.bg = ctx.spawn(cmd, f"{label}-stdout")
        deadline = time.monotonic() + READY_TIMEOUT_S
        ready = False
        while time.monotonic() < deadline and self.bg.alive():
            if not net.udp_port_bound(port) or not tcp_accepting(port) or not tcp_accepting(tls_port):
                time.sleep(0.1)
                continue
            ready = True
            break
        if not ready:
            self.print_log()
        ctx.require(ready, f"{label}: turnserver listening on udp/tcp {port} and tls {tls_port}",
                    "exited" if not self.bg.alive() else f"not ready in {READY_TIMEOUT_S:.0f} s")
        print(f"  {label}: turnserver ready (pid {self.bg.proc.pid}, relay {relay_min}-{relay_max})",
              flush=True)

    def alive(self) -> bool:
        return self.bg.alive()

    def print_log(self, tail: int = 80) -> None:
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            lines = []
        print(f"---- {self.label} log ({self.log_path}), last {min(tail, len(lines))} of "
              f"{len(lines)} lines ----")
        for line in lines[-tail:]:
            print(line)
        print(f"---- end of {self.label} log ----", flush=True)

    def stop(self) -> None:
        self.bg.stop()


def load_run(ctx: runner.Context, server: Coturn, transport: str, peer_port: int, cred: list,
             extra: tuple = ()) -> None:
    label = f"{server.label}-{transport}{''.join(extra).replace('--', '-')}"
    checks.section(f"turnpike load -> coturn ({server.label}) over {transport} {' '.join(extra)}".rstrip())
    peer = c.CliPeer(ctx, [peer_port], f"peer-{label}")
    port = server.tls_port if transport == "tls" else server.port
    args = ["load", f"{net.LOOPBACK}:{port}", "--transport", transport,
            "--peer", f"{net.LOOPBACK}:{peer_port}", "--allocations", ALLOCATIONS,
            "--packets", PACKETS, "--rate", RATE, "--size", SIZE, "--duration", 25, "--json",
            "--no-progress", "--expect-zero-loss", *cred, *extra]
    if transport == "tls":
        args.append("--insecure")
    r = c.cli(ctx, args, f"load-{label}", timeout_s=45)
    counts = peer.stop()
    j = c.last_json(r.output)
    ctx.require(j is not None, f"{label}: load printed one JSON object", r.output[-400:])
    failures_before = len(ctx.checks.failures)
    c.check_load_run(ctx, label, r, j, counts, ALLOCATIONS, PACKETS, SIZE)
    ctx.check(server.alive(), f"{label}: turnserver still running")
    if len(ctx.checks.failures) > failures_before:
        server.print_log()


def body(ctx: runner.Context) -> None:
    block = net.reserve_port_block()
    base = block.base
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    static = ["--user", "alice", "--password", daemon_config.STATIC_USERS["alice"]]

    # Port block layout (net.PortBlock): relay ports base..base+79, split between the two
    # instances; echo peers at base+80..; coturn also binds listening port + 1 and TLS port + 1
    # (its RFC 5780 alternative ports), which stay inside the block.
    s = Coturn(ctx, "coturn-static", ["--lt-cred-mech", "--user", f"alice:{daemon_config.STATIC_USERS['alice']}"],
               port=base + 98, tls_port=base + 96, relay_min=base, relay_max=base + 39,
               cert=cert, key=key)
    load_run(ctx, s, "udp", base + 80, static)
    load_run(ctx, s, "tcp", base + 81, static)
    load_run(ctx, s, "tls", base + 82, static)
    load_run(ctx, s, "udp", base + 83, static, ("--send-indication",))
    s.stop()

    r = Coturn(ctx, "coturn-rest", ["--use-auth-secret", "--static-auth-secret", REST_SECRET],
               port=base + 92, tls_port=base + 94, relay_min=base + 40, relay_max=base + 79,
               cert=cert, key=key)
    rest = ["--secret", REST_SECRET, "--user", "load"]
    load_run(ctx, r, "udp", base + 84, rest)
    load_run(ctx, r, "tls", base + 85, rest)
    r.stop()


if __name__ == "__main__":
    if shutil.which("turnserver") is None and not os.access("/usr/bin/turnserver", os.X_OK):
        print("SKIP: coturn's turnserver is not installed (Debian package coturn)")
        sys.exit(77)
    sys.exit(c.cli_main("cli_load_coturn", body))
