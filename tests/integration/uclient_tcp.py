#!/usr/bin/env python3
"""TURN over a TCP client connection (RFC 8656 §3.1) with turnutils_uclient -t: static long-term
user alice, 4 clients x 100 packets of 120 bytes, relayed over UDP to a turnutils_peer echo and
back, first with channels (ChannelData framed on the stream, padded to 4), then with -s (Send and
Data indications), then channels with 121-byte packets so every ChannelData carries 3 bytes of
padding. Expects 0 loss in all three."""

import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, daemon_config, runner, turnutils  # noqa: E402


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon(daemon_config.stream_config)
    cred = ["-u", "alice", "-w", daemon_config.STATIC_USERS["alice"]]
    tcp_port = d.tcp_address[1]

    checks.section("uclient -t, static user, channels")
    turnutils.uclient_run(ctx, d, "tcp-channel", cred, transport_args=["-t"], port=tcp_port)

    checks.section("uclient -t -s, static user, Send/Data indications")
    turnutils.uclient_run(ctx, d, "tcp-send", cred, send_method=True, transport_args=["-t"], port=tcp_port)

    checks.section("uclient -t, channels, 121-byte packets (ChannelData padding on the stream)")
    turnutils.uclient_run(ctx, d, "tcp-channel-odd", cred, length=121, transport_args=["-t"],
                          port=tcp_port)

    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("uclient_tcp", body))
