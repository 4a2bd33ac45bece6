#!/usr/bin/env python3
"""Trust boundaries of the stream listeners (docs/security.md):
 1. PROXY protocol only from listeners[].proxy_protocol_from. Listener A trusts 127.0.0.1/32,
    listener B trusts 10.0.0.0/8 and ::1/128. From 127.0.0.1 to A, a v1 and a v2 header naming
    198.51.100.7:40000, then a Binding: answered with XOR-MAPPED-ADDRESS 198.51.100.7:40000 (the
    header was believed). From 127.0.0.1 to B, and from 127.0.0.2 to A: the connection is closed
    (reset or EOF) and nothing is answered; turnpike_proxy_untrusted_total counts both.
 2. A PROXY listener without proxy_protocol_from is a config error naming the key.
 3. TLS session tickets are off: a TLS 1.2 session carries no ticket, and it still resumes (by
    session id, from the server's cache)."""

import os
import socket
import ssl
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (certs, checks, daemon_config, net, runner, streams,  # noqa: E402
                              stun_codec)
import fault_common as f  # noqa: E402

FAKE_CLIENT = ("198.51.100.7", 40000)
V2_SIGNATURE = bytes([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A])


def proxied_port(block: net.PortBlock, trusted: bool) -> int:
    return block.tcp_listener if trusted else block.tcp_listener - 3  # base + 93: unused


def config(block: net.PortBlock, cert: str, key: str) -> dict:
    cfg = daemon_config.stream_config(block, cert=cert, key=key)
    cfg["listeners"] = [l for l in cfg["listeners"] if l["transport"] != "tcp"] + [
        {"transport": "tcp", "address": net.LOOPBACK, "port": proxied_port(block, True),
         "proxy_protocol": True, "proxy_protocol_from": ["127.0.0.1/32"]},
        {"transport": "tcp", "address": net.LOOPBACK, "port": proxied_port(block, False),
         "proxy_protocol": True, "proxy_protocol_from": ["10.0.0.0/8", "::1/128"]}]
    return f.with_metrics(cfg, block)


def v1_header(port: int) -> bytes:
    return f"PROXY TCP4 {FAKE_CLIENT[0]} 127.0.0.1 {FAKE_CLIENT[1]} {port}\r\n".encode()


def v2_header(port: int) -> bytes:
    body = socket.inet_aton(FAKE_CLIENT[0]) + socket.inet_aton("127.0.0.1")
    body += struct.pack("!HH", FAKE_CLIENT[1], port)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def proxied_binding(port: int, header: bytes, source: str) -> tuple:
    """Header + Binding over a new connection from `source`: (response or None, how it ended)."""
    binding = stun_codec.build_message(stun_codec.make_type(stun_codec.BINDING, stun_codec.REQUEST))
    try:
        s = socket.create_connection((net.LOOPBACK, port), timeout=3, source_address=(source, 0))
    except OSError as e:
        return None, f"connect: {type(e).__name__}"
    try:
        try:
            s.sendall(header + binding)
        except OSError as e:
            return None, f"send: {type(e).__name__}"
        data = b""
        while len(data) < 20 or len(data) < 20 + struct.unpack("!H", data[2:4])[0]:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                return None, "open (no answer in 3 s)"
            except OSError as e:
                return None, f"reset ({type(e).__name__})"
            if not chunk:
                return None, "eof"
            data += chunk
        return stun_codec.try_parse(data), "answered"
    finally:
        s.close()


def check_proxy(ctx: runner.Context, d) -> None:
    checks.section("PROXY headers from a trusted proxy are believed")
    for version, make in (("v1", v1_header), ("v2", v2_header)):
        port = proxied_port(d.block, True)
        resp, how = proxied_binding(port, make(port), "127.0.0.1")
        mapped = None if resp is None else resp.xor_address(stun_codec.A_XOR_MAPPED_ADDRESS)
        ctx.check(resp is not None and resp.cls == stun_codec.SUCCESS,
                  f"{version} header from 127.0.0.1 (trusted) + Binding -> success", how)
        ctx.check(mapped == FAKE_CLIENT, f"{version}: XOR-MAPPED-ADDRESS is the header's source",
                  f"{mapped}")
    checks.section("... and refused from anyone else")
    for label, port, source in (("127.0.0.1 to a listener trusting 10.0.0.0/8, ::1", False,
                                 "127.0.0.1"),
                                ("127.0.0.2 to a listener trusting 127.0.0.1/32", True,
                                 "127.0.0.2")):
        p = proxied_port(d.block, port)
        resp, how = proxied_binding(p, v1_header(p), source)
        ctx.check(resp is None and not how.startswith("open"),
                  f"{label}: closed, nothing answered", f"{how}; {checks.describe(resp)}")
    # Each worker publishes its counters every 500 ms: wait for the sum.
    f.wait_metric(ctx, d, "turnpike_proxy_untrusted_total", 2, 3.0)
    fams = f.scrape(ctx, d, "after the PROXY headers")
    refused = f.metric(fams, "turnpike_proxy_untrusted_total")
    ctx.check(refused == 2, "turnpike_proxy_untrusted_total == 2", f"{refused}")


def check_config_error(ctx: runner.Context) -> None:
    checks.section("proxy_protocol without proxy_protocol_from is a config error")
    cfg = daemon_config.base_config(net.reserve_port_block())
    cfg["listeners"].append({"transport": "tcp", "address": net.LOOPBACK, "port": 1,
                             "proxy_protocol": True})
    path = os.path.join(ctx.workdir, "no-proxy-from.json")
    daemon_config.write_json(path, cfg)
    p = subprocess.run([ctx.args.daemon, "--config", path, "--check-config"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    err = p.stderr.decode("utf-8", "replace")
    ctx.check(p.returncode == 1, "--check-config exits 1", f"rc={p.returncode}")
    ctx.check("listeners[1].proxy_protocol_from" in err, "stderr names listeners[1].proxy_protocol_from",
              " / ".join(err.strip().splitlines()[:3]))


def check_tickets(ctx: runner.Context, d) -> None:
    checks.section("TLS: no session tickets, resumption by session id")
    context = streams.tls_client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(d.tls_address, timeout=5) as raw:
        with context.wrap_socket(raw) as s:
            session = s.session
            ctx.check(session is not None and not session.has_ticket,
                      "a TLS 1.2 session carries no ticket",
                      f"has_ticket={None if session is None else session.has_ticket}")
    with socket.create_connection(d.tls_address, timeout=5) as raw:
        with context.wrap_socket(raw, session=session) as s:
            ctx.check(s.session_reused, "the session resumes anyway (server-side cache)")


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda b: config(b, cert, key))
    check_proxy(ctx, d)
    check_tickets(ctx, d)
    check_config_error(ctx)
    ctx.check(d.alive(), "daemon alive", d.death_note())
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("stream_trust", body))
