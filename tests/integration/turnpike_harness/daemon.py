"""turnpiked under test: writes its config, starts it with stderr captured to a file, waits for
the "turnpiked ready" line, stops it with SIGTERM, and reads its log."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from typing import Callable, Optional

from .checks import Fatal
from .daemon_config import base_config, write_json
from .net import LOOPBACK, PortBlock, reserve_port_block

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 300


class Daemon:
    def __init__(self, binary: str, workdir: str, name: str = "turnpiked"):
        self.binary = binary
        self.workdir = workdir
        self.name = name
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.config_path = os.path.join(workdir, f"{name}.json")
        self.block: Optional[PortBlock] = None
        self.stopped_rc: Optional[int] = None

    @property
    def address(self) -> tuple[str, int]:
        assert self.block is not None
        return (LOOPBACK, self.block.listener)

    @property
    def tcp_address(self) -> tuple[str, int]:
        """The TCP listener of stream_config()."""
        assert self.block is not None
        return (LOOPBACK, self.block.tcp_listener)

    @property
    def tls_address(self) -> tuple[str, int]:
        """The TLS listener of stream_config()."""
        assert self.block is not None
        return (LOOPBACK, self.block.tls_listener)

    def start(self, config_fn: Callable[[PortBlock], dict] = base_config, attempts: int = 3) -> None:
        """Reserves ports, writes the config, starts the daemon and waits for the ready line.
        Retries with another port block when a port turned out to be taken."""
        tried: list[int] = []
        for attempt in range(attempts):
            self.block = reserve_port_block(exclude=tried)
            tried.append(self.block.base)
            write_json(self.config_path, config_fn(self.block))
            if self._launch():
                return
            log = self.log_text()
            if attempt + 1 < attempts and re.search(r"in use|EADDRINUSE", log, re.I):
                print(f"  (port collision, retrying with another block)", flush=True)
                continue
            rc = self.proc.returncode if self.proc is not None else None
            first = next((l for l in log.splitlines() if l.strip()), "")
            raise Fatal(f"daemon did not become ready (exit code {rc}; log: {first[:200]!r})")

    def _launch(self) -> bool:
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "--config", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     start_new_session=True)
        logf.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if "turnpiked ready" in self.log_text():
                print(f"  daemon ready (pid {self.proc.pid}, udp {self.address[0]}:{self.address[1]}, "
                      f"relay {self.block.relay_min}-{self.block.relay_max})", flush=True)
                return True
            if self.proc.poll() is not None:
                print(f"  daemon exited with code {self.proc.returncode} before ready", flush=True)
                return False
            time.sleep(0.05)
        print(f"  daemon not ready after {READY_TIMEOUT_S:.0f} s", flush=True)
        self.kill()
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def death_note(self) -> str:
        """Why the daemon is not running, for failure messages."""
        if self.proc is None or self.proc.poll() is None:
            return "running"
        rc = self.proc.returncode
        note = f"exited with code {rc}"
        if rc < 0:
            note += f" (killed by signal {-rc})"
        if re.search(r"signal (15|2)\b", self.log_text()):
            note += ("; its log shows it received SIGTERM/SIGINT, which this test did not send: "
                     "something else killed it (e.g. a `pkill turnpiked` in another shell)")
        return note

    def stop(self) -> Optional[int]:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self.stopped_rc = self.proc.returncode
        return self.stopped_rc

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def log_text(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def print_log(self, tail: int = LOG_TAIL_LINES) -> None:
        lines = self.log_text().splitlines()
        print(f"\n---- {self.name} log ({self.log_path}), last {min(tail, len(lines))} "
              f"of {len(lines)} lines ----", flush=True)
        for line in lines[-tail:]:
            print(line)
        print(f"---- end of {self.name} log ----", flush=True)
