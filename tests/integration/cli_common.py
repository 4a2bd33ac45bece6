"""Helpers shared by the cli_* integration tests of the `turnpike` CLI (src/cli).

The tests take `--cli PATH` (the built `turnpike`, from CMake's $<TARGET_FILE:turnpike>) on top of
turnpike_harness.runner's own arguments (--daemon ...). Everything is bounded in time; all traffic stays on
127.0.0.1."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable, Optional

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import net, runner, tools  # noqa: E402

CLI_PATH: Optional[str] = None


def cli_main(name: str, body: Callable[[runner.Context], None]) -> int:
    """Strips --cli from the command line, checks the binary, then runs runner.main."""
    global CLI_PATH
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--cli", required=True, help="path to the built turnpike CLI")
    args, rest = p.parse_known_args()
    if not (os.path.isfile(args.cli) and os.access(args.cli, os.X_OK)):
        print(f"FAIL: turnpike CLI {args.cli!r} does not exist or is not executable")
        return 1
    CLI_PATH = args.cli
    return runner.main(name, body, rest)


def cli(ctx: runner.Context, args: list, label: str, timeout_s: float = 60) -> tools.ToolResult:
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


def check_load_run(ctx: runner.Context, label: str, r: tools.ToolResult, j: dict, counts: dict,
                   allocations: int, packets: int, size: int) -> None:
    """The checks every `turnpike load --json` run through a TURN server gets (turnpiked or
    coturn's turnserver): prints its RESULT line, then checks that every packet came back whole
    and that the load's counts agree with the echo peer's own (`counts`, from CliPeer.stop())."""
    rtt = j.get("rtt_us", {})
    print(f"RESULT {ctx.name}/{label}: allocations={j.get('allocations')} "
          f"({j.get('allocations_per_s', 0):.0f}/s) sent={j.get('sent')} "
          f"received={j.get('received')} loss={j.get('loss')} reordered={j.get('reordered')} "
          f"dup={j.get('duplicates')} rtt p50={rtt.get('p50')} p99={rtt.get('p99')} "
          f"max={rtt.get('max')} us errors={j.get('errors')} elapsed={j.get('elapsed_s', 0):.2f} s "
          f"peer={counts}", flush=True)
    expected = allocations * packets
    ctx.check(r.rc == 0, f"{label}: load exits 0", f"rc={r.rc} first_error={j.get('first_error')}")
    ctx.check(j.get("allocations") == allocations and j.get("allocations_ready") == allocations,
              f"{label}: {allocations} allocations, all ready",
              f"{j.get('allocations')}/{j.get('allocations_ready')}")
    ctx.check(j.get("sent") == expected, f"{label}: sent {expected}", f"sent={j.get('sent')}")
    ctx.check(j.get("received") == j.get("sent"), f"{label}: received == sent",
              f"sent={j.get('sent')} received={j.get('received')}")
    ctx.check(j.get("loss") == 0, f"{label}: loss 0", f"loss={j.get('loss')}")
    ctx.check(j.get("duplicates") == 0 and j.get("foreign") == 0,
              f"{label}: no duplicates, nothing foreign",
              f"dup={j.get('duplicates')} foreign={j.get('foreign')}")
    ctx.check(j.get("errors") == {}, f"{label}: no errors", str(j.get("errors")))
    ctx.check(j.get("bytes_received") == expected * size, f"{label}: {expected * size} bytes back",
              str(j.get("bytes_received")))
    ctx.check(counts.get("echoed") == j.get("received"),
              f"{label}: peer's echoed count == load's received count",
              f"peer echoed={counts.get('echoed')} load received={j.get('received')}")
    ctx.check(counts.get("received") == j.get("sent"),
              f"{label}: peer's received count == load's sent count",
              f"peer received={counts.get('received')} load sent={j.get('sent')}")
    ctx.check(counts.get("sources") == allocations,
              f"{label}: the peer saw {allocations} relayed addresses", str(counts.get("sources")))
    ctx.check(j.get("allocations_deleted") == allocations,
              f"{label}: all {allocations} allocations deleted (Refresh lifetime 0)",
              str(j.get("allocations_deleted")))


class CliPeer:
    """`turnpike peer --json` echoing on the given UDP ports of 127.0.0.1; stop() returns its
    final counts (it prints them as JSON on SIGTERM)."""

    def __init__(self, ctx: runner.Context, ports: list, label: str, duration_s: int = 110):
        assert CLI_PATH is not None
        self.ctx = ctx
        self.ports = ports
        self.label = label
        cmd = [CLI_PATH, "peer", "--json", "--duration", str(duration_s)]
        for port in ports:
            cmd += ["--listen", f"{net.LOOPBACK}:{port}"]
        self.bg = ctx.spawn(cmd, label)
        ok = all(net.wait_udp_bound(port) for port in ports)
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
