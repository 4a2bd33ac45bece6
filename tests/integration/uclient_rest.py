#!/usr/bin/env python3
"""TURN REST (time-limited) credentials with turnutils_uclient:
 1. -W s3cret-two: uclient mints "<now+86400>:<user>" and base64(HMAC-SHA1) itself (separator
    ':' given explicitly with -C);
 2. -u/-w with a credential computed here (secret s3cret-one, expiry now+1h), so both configured
    secrets verify.
Each run relays 4 clients x 100 packets over channels and expects 0 loss."""

import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, credentials, daemon_config, runner, turnutils  # noqa: E402


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon()

    checks.section("uclient -W (uclient computes the REST credential)")
    turnutils.uclient_run(ctx, d, "rest-W", ["-u", "restuser", "-W", daemon_config.REST_SECRETS[1], "-C", ":"])

    checks.section("uclient -u/-w with a REST credential computed in Python")
    username, password = credentials.rest_credential(daemon_config.REST_SECRETS[0], "bob", int(time.time()) + 3600)
    print(f"  username={username} password={password}")
    turnutils.uclient_run(ctx, d, "rest-uw", ["-u", username, "-w", password])

    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("uclient_rest", body))
