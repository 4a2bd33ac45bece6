#!/usr/bin/env python3
"""TURN relay over UDP with ChannelData: turnutils_uclient (static long-term user alice, 4 clients
x 100 packets of 120 bytes) -> turnpiked -> turnutils_peer echo -> back. Expects 0 loss."""

import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
import harness as h  # noqa: E402


def body(ctx: h.Context) -> None:
    d = ctx.start_daemon()
    h.section("uclient, static user, channels")
    h.uclient_run(ctx, d, "static-channel", ["-u", "alice", "-w", h.STATIC_USERS["alice"]])
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(h.main("uclient_static_channel", body))
