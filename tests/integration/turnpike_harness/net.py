"""The loopback address, and a private, file-locked block of UDP ports per test process (relay
range, peer ports, listeners), so tests run concurrently by `ctest -j` never collide; checks of
whether a UDP port is bound."""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Iterable

LOOPBACK = "127.0.0.1"


# Blocks of 100 UDP ports below Linux's default ephemeral range (32768-60999), so nothing that
# binds port 0 lands in them. Each test process holds an flock on its block for its lifetime.
BLOCK_SIZE = 100
BLOCK_FIRST = 20000
BLOCK_COUNT = 120  # 20000..31999
_held_locks: list = []


def _port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@dataclass
class PortBlock:
    base: int

    @property
    def relay_min(self) -> int:
        return self.base  # even

    @property
    def relay_max(self) -> int:
        return self.base + 79

    @property
    def peer(self) -> int:
        return self.base + 90  # turnutils_peer binds this and +1

    @property
    def spare(self) -> int:
        return self.base + 94  # for a Python peer socket

    @property
    def listener(self) -> int:
        return self.base + 98

    @property
    def tcp_listener(self) -> int:
        return self.base + 96  # a TCP port: the block's flock covers TCP and UDP alike

    @property
    def tls_listener(self) -> int:
        return self.base + 97


def reserve_port_block(exclude: Iterable[int] = ()) -> PortBlock:
    lock_dir = os.path.join(tempfile.gettempdir(), "turnpike-it-ports")
    os.makedirs(lock_dir, exist_ok=True)
    candidates = [i for i in range(BLOCK_COUNT) if BLOCK_FIRST + i * BLOCK_SIZE not in set(exclude)]
    random.SystemRandom().shuffle(candidates)
    for idx in candidates[:60]:
        base = BLOCK_FIRST + idx * BLOCK_SIZE
        fd = os.open(os.path.join(lock_dir, f"block-{base}.lock"), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if all(_port_free(p) for p in range(base, base + BLOCK_SIZE)):
            _held_locks.append(fd)
            return PortBlock(base)
        os.close(fd)
    raise RuntimeError("no free block of UDP ports in 20000-31999")


def wait_udp_bound(port: int, timeout_s: float = 5.0) -> bool:
    """True once something has bound 127.0.0.1:port (our own bind attempt fails)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _port_free(port):
            return True
        time.sleep(0.05)
    return False


def udp_port_bound(port: int, ip: str = LOOPBACK) -> bool:
    """Whether a UDP socket is bound to ip:port, from `ss -uln` (falls back to a bind attempt)."""
    ss = shutil.which("ss")
    if ss is not None:
        try:
            out = subprocess.run([ss, "-H", "-u", "-l", "-n"], capture_output=True, timeout=5,
                                 check=True).stdout.decode("utf-8", "replace")
            for line in out.splitlines():
                cols = line.split()
                if len(cols) >= 4 and cols[3] in (f"{ip}:{port}", f"*:{port}", f"0.0.0.0:{port}"):
                    return True
            return False
        except (subprocess.SubprocessError, OSError):
            pass
    return not _port_free(port)


HTTP_LISTENER_OFFSET = 95  # PortBlock base + 95: free in the block layout above


def http_listener_port(block: PortBlock) -> int:
    """A TCP port of the block for an "http" listener (not used by anything else)."""
    return block.base + HTTP_LISTENER_OFFSET
