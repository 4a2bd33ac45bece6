"""Soft assertions collected per test, the Fatal exception that aborts one, and output helpers."""

from __future__ import annotations

from typing import Optional

from .stun_codec import StunMessage


class Fatal(Exception):
    """Aborts the test; the message says why. `recorded` when it was already listed as a failure."""

    def __init__(self, message: str, recorded: bool = False):
        super().__init__(message)
        self.recorded = recorded


class Checks:
    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        self.passes = 0

    def check(self, cond: bool, what: str, detail: str = "") -> bool:
        if cond:
            self.passes += 1
            print(f"  ok    {what}", flush=True)
        else:
            msg = what + (f" -- {detail}" if detail else "")
            self.failures.append(msg)
            print(f"  FAIL  {msg}", flush=True)
        return cond

    def require(self, cond: bool, what: str, detail: str = "") -> None:
        if not self.check(cond, what, detail):
            raise Fatal(what + (f" -- {detail}" if detail else ""), recorded=True)


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def describe(msg: Optional[StunMessage]) -> str:
    return "no response" if msg is None else msg.describe()
