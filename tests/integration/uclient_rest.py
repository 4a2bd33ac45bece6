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
import harness as h  # noqa: E402


def body(ctx: h.Context) -> None:
    d = ctx.start_daemon()

    h.section("uclient -W (uclient computes the REST credential)")
    h.uclient_run(ctx, d, "rest-W", ["-u", "restuser", "-W", h.REST_SECRETS[1], "-C", ":"])

    h.section("uclient -u/-w with a REST credential computed in Python")
    username, password = h.rest_credential(h.REST_SECRETS[0], "bob", int(time.time()) + 3600)
    print(f"  username={username} password={password}")
    h.uclient_run(ctx, d, "rest-uw", ["-u", username, "-w", password])

    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(h.main("uclient_rest", body))
