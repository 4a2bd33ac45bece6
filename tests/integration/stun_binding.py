#!/usr/bin/env python3
"""STUN Binding against turnpiked: coturn's turnutils_stunclient, then raw Python requests whose
XOR-MAPPED-ADDRESS must decode to the client socket's own address, with a valid FINGERPRINT."""

import re
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, net, runner, stun_codec, tools, turn_client  # noqa: E402


def body(ctx: runner.Context) -> None:
    stunclient = tools.find_tool("turnutils_stunclient")
    d = ctx.start_daemon()
    host, port = d.address

    checks.section("turnutils_stunclient")
    r = ctx.tool([stunclient, "-p", str(port), host], timeout_s=20, label="stunclient")
    ctx.print_tool_output("turnutils_stunclient", r.output, tail=20)
    ctx.check(r.rc == 0, "turnutils_stunclient exits 0", f"rc={r.rc}")
    m = re.search(r"UDP reflexive addr: ([0-9.]+):(\d+)", r.output)
    ctx.check(m is not None, "stunclient reports a UDP reflexive address")
    if m:
        ip, mapped_port = m.group(1), int(m.group(2))
        print(f"  stunclient mapped address: {ip}:{mapped_port}")
        ctx.check(ip == net.LOOPBACK, "stunclient mapped IP is 127.0.0.1", ip)
        # turnutils_stunclient does not print its own local port, so only the range is checked.
        ctx.check(1024 <= mapped_port <= 65535 and mapped_port != port,
                  "stunclient mapped port is a plausible client port", str(mapped_port))
    ctx.check(not re.search(r"The response is an error", r.output),
              "stunclient got no error response")

    checks.section("raw Binding requests")
    for fp in (True, False):
        with turn_client.TurnClient(d.address) as c:
            resp = c.binding(fingerprint=fp)
            label = "with" if fp else "without"
            ctx.require(resp is not None, f"Binding ({label} FINGERPRINT) is answered")
            ctx.check(resp.method == stun_codec.BINDING and resp.cls == stun_codec.SUCCESS,
                      f"Binding ({label} FINGERPRINT) gets a success response", resp.describe())
            xma = resp.xor_address(stun_codec.A_XOR_MAPPED_ADDRESS)
            print(f"  socket {c.local[0]}:{c.local[1]} -> XOR-MAPPED-ADDRESS {xma}")
            ctx.check(xma == c.local, "XOR-MAPPED-ADDRESS equals the client socket's address",
                      f"{xma} != {c.local}")
            ctx.check(resp.fingerprint_ok() is True,
                      "response carries a valid FINGERPRINT as its last attribute",
                      f"fingerprint_ok={resp.fingerprint_ok()}")
            ctx.check(resp.get(stun_codec.A_MESSAGE_INTEGRITY) is None,
                      "unauthenticated Binding response has no MESSAGE-INTEGRITY")
            sw = resp.text(stun_codec.A_SOFTWARE)
            if sw is not None:
                print(f"  SOFTWARE: {sw!r}")

    checks.section("several Binding requests on one socket keep the same mapping")
    with turn_client.TurnClient(d.address) as c:
        seen = set()
        for _ in range(5):
            resp = c.binding()
            if resp is not None:
                seen.add(resp.xor_address(stun_codec.A_XOR_MAPPED_ADDRESS))
        ctx.check(seen == {c.local}, "5 Bindings on one socket all map to that socket", str(seen))

    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("stun_binding", body))
