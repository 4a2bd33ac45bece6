"""coturn's turnutils_peer (a UDP echo) and turnutils_uclient relay runs through the daemon, and
the parser of uclient's final report (shared by the uclient_* tests)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .daemon import Daemon
from .net import LOOPBACK, wait_udp_bound
from .runner import Context
from .tools import find_tool


@dataclass
class UclientStats:
    sent: Optional[int] = None
    received: Optional[int] = None
    sent_bytes: Optional[int] = None
    received_bytes: Optional[int] = None
    lost: Optional[int] = None
    lost_pct: Optional[float] = None
    send_dropped: Optional[int] = None
    rtt_avg_ms: Optional[float] = None
    rtt_min_ms: Optional[int] = None
    rtt_max_ms: Optional[int] = None
    jitter_avg_ms: Optional[float] = None
    jitter_min_ms: Optional[int] = None
    jitter_max_ms: Optional[int] = None
    connect_s: Optional[int] = None
    transmit_s: Optional[int] = None
    summary_lines: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def one_line(self) -> str:
        return (f"sent={self.sent} received={self.received} lost={self.lost} ({self.lost_pct}%) "
                f"send_dropped={self.send_dropped} rtt_avg={self.rtt_avg_ms} ms "
                f"(min {self.rtt_min_ms}, max {self.rtt_max_ms}) jitter_avg={self.jitter_avg_ms} ms "
                f"connect={self.connect_s} s transmit={self.transmit_s} s")


_FLOAT = r"(-?[0-9.]+|-?nan|-?inf)"


def parse_uclient(output: str) -> UclientStats:
    """Parses turnutils_uclient's final report (coturn 4.6: start_mclient summary lines)."""
    s = UclientStats()
    seen = set()
    for line in output.splitlines():
        if line in seen:  # uclient writes some report lines twice
            continue
        seen.add(line)
        m = re.search(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", line)
        if m and "msz=" not in line:
            s.sent, s.received = int(m.group(1)), int(m.group(2))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)\s*$", line)
        if m and "msz=" not in line:
            s.sent_bytes, s.received_bytes = int(m.group(1)), int(m.group(2))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Total lost packets (\d+) \(" + _FLOAT + r"%\), total send dropped (\d+)", line)
        if m:
            s.lost, s.lost_pct, s.send_dropped = int(m.group(1)), float(m.group(2)), int(m.group(3))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Average round trip delay " + _FLOAT + r" ms; min = (\d+) ms, max = (\d+) ms", line)
        if m:
            s.rtt_avg_ms, s.rtt_min_ms, s.rtt_max_ms = float(m.group(1)), int(m.group(2)), int(m.group(3))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Average jitter " + _FLOAT + r" ms; min = (\d+) ms, max = (\d+) ms", line)
        if m:
            s.jitter_avg_ms, s.jitter_min_ms, s.jitter_max_ms = (float(m.group(1)), int(m.group(2)),
                                                                 int(m.group(3)))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Total connect time is (\d+)", line)
        if m:
            s.connect_s = int(m.group(1))
            s.summary_lines.append(line.strip())
            continue
        m = re.search(r"Total transmit time is (\d+)", line)
        if m:
            s.transmit_s = int(m.group(1))
            s.summary_lines.append(line.strip())
            continue
        if re.search(r"\berror\b|ERROR|Cannot|cannot|Wrong integrity|unknown .* response", line):
            if len(s.errors) < 20:
                s.errors.append(line.strip())
    return s


def ensure_peer(ctx: Context, d: Daemon) -> int:
    """Starts turnutils_peer (a UDP echo on ports P and P+1) once per test; returns P."""
    if getattr(ctx, "_peer_port", None) is None:
        peer = find_tool("turnutils_peer")
        port = d.block.peer
        b = ctx.spawn([peer, "-p", str(port), "-L", LOOPBACK], "turnutils_peer")
        ctx.require(wait_udp_bound(port) and wait_udp_bound(port + 1),
                    f"turnutils_peer listening on {LOOPBACK}:{port} and :{port + 1}")
        ctx.require(b.alive(), "turnutils_peer is running")
        ctx._peer_port = port
    return ctx._peer_port


def uclient_run(ctx: Context, d: Daemon, label: str, cred_args: list, send_method: bool = False,
                n: int = 100, m: int = 4, length: int = 120, timeout_s: float = 60,
                transport_args: Iterable[str] = (), port: Optional[int] = None) -> UclientStats:
    """Runs turnutils_uclient through the daemon to a turnutils_peer echo and checks that every
    packet came back. Prints the summary lines and one RESULT line with the numbers.
    transport_args/port select another listener, e.g. (["-t"], d.tcp_address[1]) for TCP or
    (["-t", "-S"], d.tls_address[1]) for TLS (-S without -t would be DTLS)."""
    uclient = find_tool("turnutils_uclient")
    peer_port = ensure_peer(ctx, d)
    host, udp_port = d.address
    port = udp_port if port is None else port
    cmd = [uclient, *transport_args, *cred_args, "-e", LOOPBACK, "-r", str(peer_port),
           "-p", str(port),
           "-n", str(n), "-m", str(m), "-l", str(length)]
    if send_method:
        cmd.append("-s")
    if ctx.args.no_rtcp:
        cmd.append("-c")
    cmd.append(host)
    r = ctx.tool(cmd, timeout_s, label)
    stats = parse_uclient(r.output)
    # uclient starts clients in RTP/RTCP pairs unless -c; each session sends n messages.
    sessions = m if ctx.args.no_rtcp else m + (m % 2)
    expected = n * sessions
    print(f"  uclient summary ({label}):")
    for line in stats.summary_lines:
        print(f"    {line}")
    print(f"RESULT {ctx.name}/{label}: {stats.one_line()}", flush=True)
    ok = True
    ok &= ctx.check(not r.timed_out, f"{label}: uclient finished within {timeout_s:.0f} s")
    ok &= ctx.check(r.rc == 0, f"{label}: uclient exits 0", f"rc={r.rc}")
    ok &= ctx.check(stats.sent == expected, f"{label}: uclient sent {expected} packets",
                    f"sent={stats.sent}")
    ok &= ctx.check(stats.received == stats.sent and stats.received is not None,
                    f"{label}: received == sent", f"sent={stats.sent} received={stats.received}")
    ok &= ctx.check(stats.lost == 0, f"{label}: 0 lost packets", f"lost={stats.lost}")
    ok &= ctx.check(stats.send_dropped == 0, f"{label}: 0 send-dropped packets",
                    f"send_dropped={stats.send_dropped}")
    if stats.errors:
        print(f"  uclient error lines ({len(stats.errors)}): ")
        for e in stats.errors:
            print(f"    {e}")
    if not ok:
        ctx.print_tool_output(f"turnutils_uclient ({label})", r.output, tail=80)
    ctx.check(d.alive(), f"{label}: daemon still running after uclient", d.death_note())
    return stats
