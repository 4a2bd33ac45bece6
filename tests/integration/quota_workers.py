#!/usr/bin/env python3
"""Allocation quotas hold across workers (docs/security.md, "Limits and their defaults"):
 - with "workers": 4 and allocation.max_per_user 1, eight clients of one static user, each on its
   own source port (SO_REUSEPORT spreads them over the workers), get exactly one allocation; the
   other seven get 486. Once it is released, another source port gets one (the count is shared);
 - with allocation.max_per_label 1 (max_per_user left at its default), eight TURN REST credentials
   of one label (eight usernames: eight expiries) get exactly one allocation, and a credential of
   another label still gets its own.
Before the quotas were server-wide each worker counted alone, so up to `workers` allocations got
through (eight source ports all hashing to one of four workers is a 1-in-16384 chance)."""

import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import (checks, credentials, daemon_config, runner,  # noqa: E402
                              stun_codec, turn_client)

CLIENTS = 8
WORKERS = 4


def outcomes(clients, allocate) -> list:
    """Allocates on every client (credentials from `allocate`); the response codes (0: success,
    None: no answer)."""
    codes = []
    for i, c in enumerate(clients):
        resp = allocate(i, c)
        codes.append(None if resp is None else (0 if resp.cls == stun_codec.SUCCESS else resp.code()))
    return codes


def per_user(ctx: runner.Context) -> None:
    d = ctx.start_daemon(lambda b: daemon_config.base_config(
        b, workers=WORKERS, allocation={"max_per_user": 1}), name="turnpiked-per-user")
    checks.section(f"max_per_user 1, {WORKERS} workers: {CLIENTS} source ports of one user")
    user, password = next(iter(daemon_config.STATIC_USERS.items()))
    clients = [turn_client.TurnClient(d.address) for _ in range(CLIENTS)]
    try:
        codes = outcomes(clients, lambda i, c: c.allocate(user, password))
        print(f"    codes: {codes}", flush=True)
        ctx.check(codes.count(0) == 1, "exactly one allocation for the user", f"{codes}")
        ctx.check(codes.count(486) == CLIENTS - 1, "every other source port gets 486", f"{codes}")
        winner = clients[codes.index(0)] if 0 in codes else None
        if winner is not None:
            rel = winner.refresh(0)
            ctx.check(rel is not None and rel.cls == stun_codec.SUCCESS, "the allocation is deleted",
                      checks.describe(rel))
            again = [c.allocate(user, password) for c in clients if c is not winner]
            got = [r for r in again if r is not None and r.cls == stun_codec.SUCCESS]
            ctx.check(len(got) == 1, "after the release exactly one other source port gets it",
                      f"{[checks.describe(r) for r in again]}")
    finally:
        for c in clients:
            c.close()
    ctx.check(d.alive(), "daemon still running", d.death_note())
    ctx.stop_daemon(d)


def per_label(ctx: runner.Context) -> None:
    d = ctx.start_daemon(lambda b: daemon_config.base_config(
        b, workers=WORKERS, allocation={"max_per_label": 1}), name="turnpiked-per-label")
    checks.section(f"max_per_label 1, {WORKERS} workers: {CLIENTS} REST credentials of one label")
    now = int(time.time())
    secret = daemon_config.REST_SECRETS[0]
    clients = [turn_client.TurnClient(d.address) for _ in range(CLIENTS + 1)]
    try:
        def allocate(i, c):
            user, password = credentials.rest_credential(secret, "app-one", now + 600 + i)
            return c.allocate(user, password)

        codes = outcomes(clients[:CLIENTS], allocate)
        print(f"    codes: {codes}", flush=True)
        ctx.check(codes.count(0) == 1, "exactly one allocation for the label", f"{codes}")
        ctx.check(codes.count(486) == CLIENTS - 1, "every other credential of it gets 486",
                  f"{codes}")
        user, password = credentials.rest_credential(secret, "app-two", now + 600)
        other = clients[CLIENTS].allocate(user, password)
        ctx.check(other is not None and other.cls == stun_codec.SUCCESS,
                  "another label still allocates", checks.describe(other))
    finally:
        for c in clients:
            c.close()
    ctx.check(d.alive(), "daemon still running", d.death_note())
    ctx.stop_daemon(d)


def body(ctx: runner.Context) -> None:
    per_user(ctx)
    per_label(ctx)


if __name__ == "__main__":
    sys.exit(runner.main("quota_workers", body))
