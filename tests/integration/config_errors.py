#!/usr/bin/env python3
"""Configuration errors: turnpiked refuses bad configs with a non-zero exit and a message on
stderr naming the offending key (for both a normal start and --check-config); --check-config on a
good config prints "config ok" and exits 0. --check-config also loads the TLS certificate and
key and looks up `user`/`group`, and warns when a TLS relay is advertised by IP (Firefox)."""

import copy
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import certs, checks, daemon_config, net, runner  # noqa: E402

RUN_TIMEOUT_S = 10


def run_daemon(ctx: runner.Context, args: list) -> tuple:
    """(rc or None on timeout, stdout, stderr)"""
    cmd = [ctx.args.daemon, *args]
    print(f"  $ {' '.join(cmd)}", flush=True)
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=RUN_TIMEOUT_S)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        return None, out, err


def show(text: str, limit: int = 8) -> None:
    lines = [l for l in text.splitlines() if l.strip()]
    for l in lines[:limit]:
        print(f"      | {l}")
    if len(lines) > limit:
        print(f"      | ... ({len(lines) - limit} more lines)")


def bad_case(ctx: runner.Context, name: str, cfg, must_name: list) -> None:
    checks.section(f"bad config: {name}")
    path = os.path.join(ctx.workdir, f"bad-{name.replace(' ', '_')}.json")
    if isinstance(cfg, str):
        with open(path, "w") as f:
            f.write(cfg)
    else:
        daemon_config.write_json(path, cfg)
    for mode, extra in (("start", []), ("--check-config", ["--check-config"])):
        rc, out, err = run_daemon(ctx, ["--config", path, *extra])
        show(err)
        ctx.check(rc is not None, f"[{name}] {mode}: exits within {RUN_TIMEOUT_S} s (did not run)")
        ctx.check(rc not in (0, None), f"[{name}] {mode}: exit code is non-zero", f"rc={rc}")
        if mode == "--check-config":
            ctx.check(rc == 1, f"[{name}] {mode}: exit code is 1", f"rc={rc}")
        ctx.check("turnpiked ready" not in out + err, f"[{name}] {mode}: never reports ready")
        for key in must_name:
            ctx.check(key in err, f"[{name}] {mode}: stderr names {key!r}",
                      "stderr: " + " / ".join(err.strip().splitlines()[:4]))


def body(ctx: runner.Context) -> None:
    block = net.reserve_port_block()
    good = daemon_config.base_config(block)

    checks.section("good config")
    good_path = os.path.join(ctx.workdir, "good.json")
    daemon_config.write_json(good_path, good)
    rc, out, err = run_daemon(ctx, ["--config", good_path, "--check-config"])
    show(out + err)
    ctx.check(rc == 0, "--check-config on a good config exits 0", f"rc={rc}")
    ctx.check("config ok" in out + err, "--check-config prints 'config ok'")
    ctx.check("turnpiked ready" not in out + err, "--check-config does not start listeners")

    cfg = copy.deepcopy(good)
    cfg["listeners"][0]["port"] = 70000
    bad_case(ctx, "port 70000", cfg, ["listeners[0].port"])

    cfg = copy.deepcopy(good)
    cfg["relya"] = {"address": "127.0.0.1"}
    bad_case(ctx, "unknown top-level key", cfg, ["relya"])

    cfg = copy.deepcopy(good)
    cfg["auth"]["realmm"] = "typo.test"
    bad_case(ctx, "unknown nested key", cfg, ["realmm"])

    cfg = copy.deepcopy(good)
    del cfg["relay"]["address"]
    bad_case(ctx, "missing relay.address", cfg, ["relay.address"])

    cfg = copy.deepcopy(good)
    cfg["relay"]["address"] = "0.0.0.0"
    bad_case(ctx, "relay.address 0.0.0.0", cfg, ["relay.address"])

    cfg = copy.deepcopy(good)
    cfg["relay"]["port_min"], cfg["relay"]["port_max"] = block.relay_max, block.relay_min
    bad_case(ctx, "port_min above port_max", cfg, ["port_min"])

    cfg = copy.deepcopy(good)
    cfg["listeners"][0]["port"] = 70000
    cfg["peers"]["allow"] = ["not-a-cidr"]
    bad_case(ctx, "two errors at once", cfg, ["listeners[0].port", "peers.allow"])

    bad_case(ctx, "invalid JSON", '{"listeners": [', [])

    # What only the machine can tell: --check-config (and start-up, before binding) loads the
    # certificate and key and looks up the accounts.
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    cfg = daemon_config.stream_config(block, cert=os.path.join(ctx.workdir, "no-such.pem"), key=key)
    bad_case(ctx, "certificate file missing", cfg, ["tls.certificate", "no-such.pem"])
    other_cert, other_key = certs.make_cert(ctx.workdir, "other", "other.test")
    cfg = daemon_config.stream_config(block, cert=cert, key=other_key)
    bad_case(ctx, "key of another certificate", cfg, ["tls.private_key"])
    cfg = copy.deepcopy(good)
    cfg["user"] = "turnpike-no-such-user"
    bad_case(ctx, "nonexistent user", cfg, ["user: no such user 'turnpike-no-such-user'"])
    cfg = copy.deepcopy(good)
    cfg["user"], cfg["group"] = "root", "turnpike-no-such-group"
    bad_case(ctx, "nonexistent group", cfg, ["group: no such group 'turnpike-no-such-group'"])

    checks.section("warning: turns: to an IP literal (Firefox refuses it)")
    cfg = daemon_config.credentials_config(block, cert, key)  # hosts: ["127.0.0.1"], TLS listener
    path = os.path.join(ctx.workdir, "tls-ip-host.json")
    daemon_config.write_json(path, cfg)
    rc, out, err = run_daemon(ctx, ["--config", path, "--check-config"])
    show(out + err)
    ctx.check(rc == 0 and "config ok" in out, "a TLS relay advertised by IP is valid (exit 0)",
              f"rc={rc}")
    ctx.check("credentials.hosts[0]" in err and "Firefox" in err,
              "--check-config warns that Firefox refuses turns: to an IP literal", err[-300:])
    cfg["credentials"]["hosts"] = ["turn.example.test"]
    daemon_config.write_json(path, cfg)
    rc, out, err = run_daemon(ctx, ["--config", path, "--check-config"])
    ctx.check(rc == 0 and "Firefox" not in err, "no warning for a host name", err[-300:])

    checks.section("missing config file")
    missing = os.path.join(ctx.workdir, "does-not-exist.json")
    rc, out, err = run_daemon(ctx, ["--config", missing])
    show(err)
    ctx.check(rc not in (0, None), "missing config file: non-zero exit", f"rc={rc}")
    ctx.check(missing in err, "missing config file: stderr names the path")


if __name__ == "__main__":
    sys.exit(runner.main("config_errors", body))
