#!/usr/bin/env python3
"""TURN relay over UDP with ChannelData: turnutils_uclient (static long-term user alice, 4 clients
x 100 packets of 120 bytes) -> turnpiked -> turnutils_peer echo -> back. Expects 0 loss."""

import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, daemon_config, runner, turnutils  # noqa: E402


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon()
    checks.section("uclient, static user, channels")
    turnutils.uclient_run(ctx, d, "static-channel", ["-u", "alice", "-w", daemon_config.STATIC_USERS["alice"]])
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("uclient_static_channel", body))
