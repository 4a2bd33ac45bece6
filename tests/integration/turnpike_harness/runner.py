"""The test driver: command-line arguments, the Context a test body gets (scratch directory,
checks, daemons and background processes that are always stopped), and main(), which prints
every daemon log on failure and returns the exit code."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import traceback
from typing import Callable

from .checks import Checks, Fatal
from .daemon import Daemon
from .daemon_config import base_config
from .net import PortBlock
from .tools import Background, ToolResult, run_tool


class Context:
    """What a test body gets: parsed args, a scratch directory, checks, and helpers that make sure
    every daemon/background process is stopped and every daemon log is printed on failure."""

    def __init__(self, name: str, args: argparse.Namespace, workdir: str):
        self.name = name
        self.args = args
        self.workdir = workdir
        self.checks = Checks(name)
        self.daemons: list[Daemon] = []
        self.background: list[Background] = []
        self.tool_logs: list[tuple[str, str]] = []

    def check(self, cond: bool, what: str, detail: str = "") -> bool:
        return self.checks.check(cond, what, detail)

    def require(self, cond: bool, what: str, detail: str = "") -> None:
        self.checks.require(cond, what, detail)

    def start_daemon(self, config_fn: Callable[[PortBlock], dict] = base_config,
                     name: str = "turnpiked") -> Daemon:
        d = Daemon(self.args.daemon, self.workdir, name)
        self.daemons.append(d)
        d.start(config_fn)
        return d

    def stop_daemon(self, d: Daemon) -> None:
        """Stops with SIGTERM and checks the exit code is 0 (a crash earlier shows up here too)."""
        was_alive = d.alive()
        self.check(was_alive, f"{d.name} still running before shutdown", d.death_note())
        rc = d.stop()
        if was_alive:
            self.check(rc == 0, f"{d.name} exits 0 on SIGTERM", f"exit code {rc}")

    def spawn(self, cmd: list, name: str) -> Background:
        b = Background(cmd, os.path.join(self.workdir, f"{name}.log"))
        self.background.append(b)
        return b

    def tool(self, cmd: list, timeout_s: float, label: str) -> ToolResult:
        r = run_tool(cmd, timeout_s)
        self.tool_logs.append((label, r.output))
        status = "timed out" if r.timed_out else f"exit {r.rc}"
        print(f"  ({label}: {status} after {r.seconds:.1f} s)", flush=True)
        return r

    def print_tool_output(self, label: str, output: str, tail: int = 60) -> None:
        lines = output.splitlines()
        print(f"---- {label} output, last {min(tail, len(lines))} of {len(lines)} lines ----")
        for line in lines[-tail:]:
            print(line)
        print(f"---- end of {label} output ----", flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--daemon", required=True, help="path to the built turnpiked")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--no-rtcp", action="store_true",
                   help="pass -c to turnutils_uclient (no RTCP allocations: no EVEN-PORT R-bit / "
                        "RESERVATION-TOKEN)")
    return p.parse_args(argv)


def main(name: str, body: Callable[[Context], None], argv=None) -> int:
    """Runs a test body; returns the process exit code (0 pass, 1 fail)."""
    args = parse_args(argv)
    print(f"# integration test {name}", flush=True)
    if not (os.path.isfile(args.daemon) and os.access(args.daemon, os.X_OK)):
        print(f"FAIL: daemon binary {args.daemon!r} does not exist or is not executable")
        return 1
    workdir = tempfile.mkdtemp(prefix=f"turnpike-it-{name}-")
    ctx = Context(name, args, workdir)
    crashed = None
    try:
        body(ctx)
    except Fatal as e:
        crashed = ("aborted at the failed check above; remaining checks skipped" if e.recorded
                   else f"aborted: {e}")
    except Exception:  # a bug in the test itself or an unexpected situation: still report
        crashed = "exception in test:\n" + traceback.format_exc()
    finally:
        for b in ctx.background:
            b.stop()
        for d in ctx.daemons:
            if d.alive():
                d.kill()
    failed = bool(ctx.checks.failures) or crashed is not None
    if failed:
        for d in ctx.daemons:
            d.print_log()
        print(f"\n{name}: FAILED ({len(ctx.checks.failures)} failed checks, "
              f"{ctx.checks.passes} passed)")
        for f in ctx.checks.failures:
            print(f"  - {f}")
        if crashed:
            print(f"  - {crashed}")
        print(f"  scratch dir kept: {workdir}")
        return 1
    print(f"\n{name}: PASSED ({ctx.checks.passes} checks)")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
