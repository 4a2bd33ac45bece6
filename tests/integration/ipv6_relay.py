#!/usr/bin/env python3
"""IPv6 (RFC 6156 / RFC 8656 REQUESTED-ADDRESS-FAMILY): listeners on [::1] (UDP and TCP) and IPv6
relay addresses. turnutils_uclient -x asks for an IPv6 relay (REQUESTED-ADDRESS-FAMILY 0x02) over
an IPv6 client connection and relays to turnutils_peer on [::1], in channel and Send modes, over
UDP and TCP: 0 lost packets. Skips (77) when the host has no IPv6 loopback."""

import os
import re
import socket
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
from standalone import StandaloneDaemon, report  # noqa: E402


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET6, kind) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


def main() -> int:
    daemon = sys.argv[sys.argv.index("--daemon") + 1]
    try:
        free_port(socket.SOCK_DGRAM)
    except OSError as e:
        print(f"SKIP: no IPv6 loopback ({e})")
        return 77
    work = tempfile.mkdtemp(prefix="turnpike-ipv6-")
    port = free_port(socket.SOCK_STREAM)
    peer_port = free_port(socket.SOCK_DGRAM)
    daemon_proc = StandaloneDaemon(daemon, work, f"""{{
  "listeners": [{{"transport": "udp", "address": "::1", "port": {port}}},
                {{"transport": "tcp", "address": "::1", "port": {port}}}],
  "relay": {{"address": "127.0.0.1", "ipv6_address": "::1", "port_min": 32200, "port_max": 32299}},
  "auth": {{"static_users": {{"alice": "alice-pass"}}}},
  "peers": {{"allow": ["::1/128"]}},
  "log": {{"level": "info"}}
}}""")
    peer = subprocess.Popen(["turnutils_peer", "-p", str(peer_port), "-L", "::1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = []
    try:
        if not daemon_proc.wait_ready():
            return 1
        for name, extra in (("udp-channel", []), ("udp-send", ["-s"]), ("tcp-channel", ["-t"])):
            cmd = ["turnutils_uclient", "-x", "-c", *extra, "-u", "alice", "-w", "alice-pass",
                   "-e", "::1", "-r", str(peer_port), "-p", str(port), "-n", "50", "-m", "2",
                   "-l", "120", "::1"]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=40)
            out = r.stdout + r.stderr
            lost = re.search(r"Total lost packets (\d+)", out)
            totals = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", out, re.M)
            sent = totals[-1] if totals else None
            print(f"RESULT ipv6 {name}: rc={r.returncode} "
                  f"sent/received={'/'.join(sent) if sent else '?'} lost={lost.group(1) if lost else '?'}")
            if r.returncode != 0 or not lost or lost.group(1) != "0" or not sent or \
                    sent[0] != sent[1] or sent[0] == "0":
                failures.append(f"{name}: {out[-400:]}")
    finally:
        peer.kill()
        daemon_proc.stop_and_check(failures)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
