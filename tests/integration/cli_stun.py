#!/usr/bin/env python3
"""`turnpike stun` against turnpiked: the mapped address is 127.0.0.1 (and, in --json, exactly the
CLI's own local address) over UDP, TCP and TLS (--insecure and --ca); several requests on one
socket; a certificate that cannot be verified and a port where nothing listens are errors, and so
is `turnpike peer` on a port already in use."""

import re
import socket
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import certs, checks, daemon_config, net, runner, tools  # noqa: E402
import cli_common as c  # noqa: E402


def check_text(ctx: runner.Context, r: tools.ToolResult, label: str, replies: int = 1) -> None:
    ctx.check(r.rc == 0, f"{label}: exit 0", f"rc={r.rc}")
    m = re.search(r"^mapped address: ([0-9.]+):(\d+)$", r.output, re.M)
    ctx.check(m is not None and m.group(1) == net.LOOPBACK,
              f"{label}: prints 'mapped address: 127.0.0.1:PORT'", r.output[-300:])
    ctx.check(re.search(rf"^{replies}/{replies} replies, rtt min/avg/max = [0-9.]+/[0-9.]+/[0-9.]+ ms$",
                        r.output, re.M) is not None,
              f"{label}: {replies}/{replies} replies with RTT min/avg/max", r.output[-300:])


def check_json(ctx: runner.Context, r: tools.ToolResult, label: str, transport: str) -> None:
    j = c.last_json(r.output) or {}
    print(f"  {label}: {j}", flush=True)
    ctx.check(r.rc == 0 and j.get("replies") == 1, f"{label}: exit 0, 1 reply", str(j))
    ctx.check(j.get("transport") == transport, f"{label}: transport {transport}")
    mapped = j.get("mapped_address", "")
    ctx.check(mapped.startswith(net.LOOPBACK + ":") and mapped == j.get("local_address"),
              f"{label}: mapped address == the CLI's local address (127.0.0.1)", str(j))


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda block: daemon_config.stream_config(block, cert=cert, key=key))
    udp = f"{net.LOOPBACK}:{d.address[1]}"
    tcp = f"{net.LOOPBACK}:{d.tcp_address[1]}"
    tls = f"{net.LOOPBACK}:{d.tls_address[1]}"

    checks.section("udp")
    check_text(ctx, c.cli(ctx, ["stun", udp], "stun-udp", 20), "udp")
    check_json(ctx, c.cli(ctx, ["stun", udp, "--json"], "stun-udp-json", 20), "udp json", "udp")
    check_text(ctx, c.cli(ctx, ["stun", udp, "--count", 3, "--interval-ms", 50], "stun-udp-3", 20),
               "udp x3", replies=3)

    checks.section("tcp")
    check_text(ctx, c.cli(ctx, ["stun", tcp, "--transport", "tcp"], "stun-tcp", 20), "tcp")
    check_json(ctx, c.cli(ctx, ["stun", tcp, "-t", "tcp", "--json"], "stun-tcp-json", 20),
               "tcp json", "tcp")
    check_text(ctx, c.cli(ctx, ["stun", tcp, "-t", "tcp", "-c", 3, "-i", 20], "stun-tcp-3", 20),
               "tcp x3", replies=3)

    checks.section("tls")
    check_text(ctx, c.cli(ctx, ["stun", tls, "-t", "tls", "--insecure"], "stun-tls-k", 20),
               "tls --insecure")
    check_json(ctx, c.cli(ctx, ["stun", tls, "-t", "tls", "--ca", cert, "--json"], "stun-tls-ca",
                          20), "tls --ca", "tls")
    r = c.cli(ctx, ["stun", tls, "-t", "tls"], "stun-tls-verify", 20)
    ctx.check(r.rc == 1 and "certificate verification failed" in r.output,
              "tls without --insecure/--ca: self-signed certificate refused, exit 1",
              f"rc={r.rc} {r.output[-200:]}")

    checks.section("errors")
    r = c.cli(ctx, ["stun", f"{net.LOOPBACK}:{d.block.spare}", "--timeout-ms", 1500], "stun-nobody",
              20)
    ctx.check(r.rc == 1 and "0/1 replies" in r.output,
              "udp to a port where nothing listens: 0/1 replies, exit 1", f"rc={r.rc}")
    ctx.check(r.seconds < 10, "and it gives up within its timeout", f"{r.seconds:.1f} s")
    r = c.cli(ctx, ["stun", "127.0.0.1:notaport"], "stun-badport", 20)
    ctx.check(r.rc == 2, "a malformed HOST:PORT is a usage error (exit 2)", f"rc={r.rc}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind((net.LOOPBACK, 0))
        taken = f"{net.LOOPBACK}:{busy.getsockname()[1]}"
        r = c.cli(ctx, ["peer", "--listen", taken], "peer-busy", 20)
    ctx.check(r.rc == 1 and "address already in use" in r.output,
              "turnpike peer on a port in use: exit 1 naming the reason (no abort)",
              f"rc={r.rc} {r.output[-200:]}")

    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(c.cli_main("cli_stun", body))
