#!/usr/bin/env python3
"""TURN relay over UDP with Send/Data indications (uclient -s): static long-term user alice,
4 clients x 100 packets of 120 bytes through turnpiked to a turnutils_peer echo. Expects 0 loss."""

import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, daemon_config, runner, turnutils  # noqa: E402


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon()
    checks.section("uclient, static user, Send/Data indications")
    turnutils.uclient_run(ctx, d, "static-send", ["-u", "alice", "-w", daemon_config.STATIC_USERS["alice"]],
                          send_method=True)
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("uclient_static_send", body))
