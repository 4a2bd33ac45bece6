"""Helpers shared by the cli_* integration tests of the `turnpike` CLI (src/cli).

The tests take `--cli PATH` (the built `turnpike`, from CMake's $<TARGET_FILE:turnpike>) on top of
harness.py's own arguments (--daemon ...). Everything is bounded in time; all traffic stays on
127.0.0.1."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable, Optional

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
import harness as h  # noqa: E402

CLI_PATH: Optional[str] = None


def cli_main(name: str, body: Callable[[h.Context], None]) -> int:
    """Strips --cli from the command line, checks the binary, then runs harness.main."""
    global CLI_PATH
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--cli", required=True, help="path to the built turnpike CLI")
    args, rest = p.parse_known_args()
    if not (os.path.isfile(args.cli) and os.access(args.cli, os.X_OK)):
        print(f"FAIL: turnpike CLI {args.cli!r} does not exist or is not executable")
        return 1
    CLI_PATH = args.cli
    return h.main(name, body, rest)


def cli(ctx: h.Context, args: list, label: str, timeout_s: float = 60) -> h.ToolResult:
    """Runs `turnpike ARGS...` (stdout and stderr merged) with a hard timeout."""
    assert CLI_PATH is not None
    return ctx.tool([CLI_PATH, *[str(a) for a in args]], timeout_s, label)


def last_json(output: str) -> Optional[dict]:
    """The last line of output that parses as a JSON object, or None."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    return None


class CliPeer:
    """`turnpike peer --json` echoing on the given UDP ports of 127.0.0.1; stop() returns its
    final counts (it prints them as JSON on SIGTERM)."""

    def __init__(self, ctx: h.Context, ports: list, label: str, duration_s: int = 110):
        assert CLI_PATH is not None
        self.ctx = ctx
        self.ports = ports
        self.label = label
        cmd = [CLI_PATH, "peer", "--json", "--duration", str(duration_s)]
        for port in ports:
            cmd += ["--listen", f"{h.LOOPBACK}:{port}"]
        self.bg = ctx.spawn(cmd, label)
        ok = all(h.wait_udp_bound(port) for port in ports)
        ctx.require(ok and self.bg.alive(),
                    f"{label}: turnpike peer echoing on {', '.join(map(str, ports))}")
        self.counts: Optional[dict] = None

    def stop(self) -> dict:
        """SIGTERM, wait, and parse the final JSON counts ({} when missing)."""
        self.bg.stop()
        self.ctx.check(self.bg.proc.returncode == 0, f"{self.label}: turnpike peer exits 0",
                       f"rc={self.bg.proc.returncode}")
        text = ""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(self.bg.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if last_json(text) is not None:
                break
            time.sleep(0.05)
        self.counts = last_json(text) or {}
        self.ctx.check(bool(self.counts), f"{self.label}: turnpike peer printed its counts",
                       text[-300:])
        print(f"  peer counts ({self.label}): {self.counts}", flush=True)
        return self.counts
