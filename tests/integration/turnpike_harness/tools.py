"""External programs: one-shot runs with hard timeouts, background helpers killed at the end of a
test, and finding coturn's client tools."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

from .checks import Fatal


@dataclass
class ToolResult:
    cmd: list
    rc: Optional[int]  # None when it timed out
    output: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.rc is None


def run_tool(cmd: list, timeout_s: float, cwd: Optional[str] = None) -> ToolResult:
    """Runs a command with stdout+stderr merged; kills its whole process group on timeout."""
    print(f"  $ {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        rc: Optional[int] = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        rc = None
    return ToolResult(cmd, rc, out.decode("utf-8", "replace"), time.monotonic() - start)


class Background:
    """A helper process (e.g. turnutils_peer) that is killed when the test ends."""

    def __init__(self, cmd: list, log_path: str):
        self.cmd = cmd
        self.log_path = log_path
        print(f"  $ {' '.join(cmd)} &", flush=True)
        logf = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)


def find_tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if path is None:
        raise Fatal(f"{name} not found: install Debian's 'coturn' package (scripts/deps.sh does)")
    return path
