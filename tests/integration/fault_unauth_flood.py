#!/usr/bin/env python3
"""Fault test: a flood of unauthenticated Allocate requests while a legitimate client relays.
 - 50,000 unauthenticated Allocate requests are sent over about 4 s from 12 UDP sockets on 4
   source addresses (127.0.0.2-127.0.0.5), with the default
   limits.unauthenticated_requests_per_second (50, burst 100) per source address. Two sockets of
   each address send plain ones (REQUESTED-TRANSPORT + FINGERPRINT, 36 bytes, as a browser's first
   Allocate); the third sends forged ones: MESSAGE-INTEGRITY under a wrong key, a 500-byte TURN
   REST username (the costliest to check: a key per REST secret), REALM and a made-up NONCE;
 - at the same time turnutils_uclient (from 127.0.0.1) relays 100 packets on each of 4 sessions
   through the daemon to a turnutils_peer echo: it must lose none;
 - the flood gets at most what the limit allows: per source and worker, the burst plus 50 per
   second (with 2 workers a source's sockets may be spread over both); everything else is
   dropped unanswered and counted in turnpike_unauthenticated_dropped_total;
 - forged requests pay before they are verified: the daemon verifies (and counts in
   turnpike_auth_failures_total) at most what the limit lets through, the rest is dropped before
   any hashing;
 - the 401s the flood got carry only the required part (ERROR-CODE without reason, REALM, NONCE,
   FINGERPRINT): a 36-byte request cannot get a smaller one; see docs/security.md.
Prints the offered and absorbed rates (RESULT lines)."""

import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import checks, daemon_config, runner, stun_codec, turnutils  # noqa: E402
import fault_common as f  # noqa: E402

TOTAL = 50_000
# Over how long the flood is spread; TURNPIKE_FLOOD_SECONDS=0.5 offers 100,000 requests/s (as fast
# as this process can send) to find the rate the daemon absorbs.
SECONDS = float(os.environ.get("TURNPIKE_FLOOD_SECONDS", "4"))
SOURCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
SOCKETS_PER_SOURCE = 2  # plain ones; each source has one more socket for forged requests
FORGED_USERNAME = "4102444800:" + "x" * 489  # 500 bytes, REST form: keys are derived for it
RATE, BURST = 50, 100


class Flood:
    def __init__(self, server):
        self.server = server
        self.socks = []   # (socket, forged?) in sending order
        for src in SOURCES:
            for forged in [False] * SOCKETS_PER_SOURCE + [True]:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                s.bind((src, 0))
                s.setblocking(False)
                self.socks.append((s, forged))
        attrs = [(stun_codec.A_REQUESTED_TRANSPORT, bytes([stun_codec.PROTO_UDP, 0, 0, 0]))]
        allocate = stun_codec.make_type(stun_codec.ALLOCATE, stun_codec.REQUEST)
        self.messages = [stun_codec.build_message(allocate, tid=os.urandom(12), attrs=attrs)
                         for _ in range(512)]
        forged_attrs = attrs + [(stun_codec.A_USERNAME, FORGED_USERNAME.encode()),
                                (stun_codec.A_REALM, daemon_config.REALM.encode()),
                                (stun_codec.A_NONCE, b"obMatJos2AAAA" + b"A" * 16)]
        self.forged = [stun_codec.build_message(allocate, tid=os.urandom(12), attrs=forged_attrs,
                                                key=os.urandom(16))
                       for _ in range(64)]
        self.sent = 0
        self.forged_sent = 0
        self.send_errors = 0
        self.replies = []  # sizes of the answers received (plain requests)
        self.forged_replies = []  # sizes of the answers to forged requests
        self.seconds = 0.0
        self.stop = False

    def run(self) -> None:
        start = time.monotonic()
        per_tick = TOTAL // int(SECONDS * 100)  # in 10 ms ticks
        i = 0
        while self.sent < TOTAL and not self.stop:
            tick_end = start + (self.sent // per_tick + 1) * 0.01
            for _ in range(per_tick):
                s, forged = self.socks[i % len(self.socks)]
                try:
                    if forged:
                        s.sendto(self.forged[i % len(self.forged)], self.server)
                        self.forged_sent += 1
                    else:
                        s.sendto(self.messages[i % len(self.messages)], self.server)
                    self.sent += 1
                except BlockingIOError:
                    self.send_errors += 1
                i += 1
            self.collect()
            left = tick_end - time.monotonic()
            if left > 0:
                time.sleep(left)
        self.seconds = time.monotonic() - start
        time.sleep(0.5)
        self.collect()

    def collect(self) -> None:
        for s, forged in self.socks:
            while True:
                try:
                    size = len(s.recv(2048))
                except (BlockingIOError, ConnectionRefusedError):
                    break
                (self.forged_replies if forged else self.replies).append(size)

    def close(self) -> None:
        for s, _ in self.socks:
            s.close()


def body(ctx: runner.Context) -> None:
    d = ctx.start_daemon(lambda b: f.with_metrics(daemon_config.base_config(b), b))
    turnutils.ensure_peer(ctx, d)
    before = f.scrape(ctx, d, "before")

    checks.section(f"{TOTAL} unauthenticated Allocates (a third with forged MESSAGE-INTEGRITY) "
                   f"from {len(SOURCES)} addresses over ~{SECONDS:.0f} s, with turnutils_uclient "
                   f"relaying from 127.0.0.1")
    flood = Flood(d.address)
    thread = threading.Thread(target=flood.run, daemon=True)
    thread.start()
    time.sleep(0.3)  # the flood is on before uclient starts
    stats = turnutils.uclient_run(ctx, d, "uclient during the flood", ["-u", "alice", "-w",
                                                                       daemon_config.STATIC_USERS["alice"]],
                                  n=100, m=4, timeout_s=60)
    thread.join(SECONDS + 30)
    flood.close()
    time.sleep(1.0)  # every worker has published its counters (they do every 500 ms)
    after = f.scrape(ctx, d, "after")

    requests = f.metric(after, "turnpike_requests_total") - f.metric(before, "turnpike_requests_total")
    dropped = (f.metric(after, "turnpike_unauthenticated_dropped_total")
               - f.metric(before, "turnpike_unauthenticated_dropped_total"))
    verified = (f.metric(after, "turnpike_auth_failures_total")
                - f.metric(before, "turnpike_auth_failures_total"))
    answered = len(flood.replies) + len(flood.forged_replies)
    offered = flood.sent / flood.seconds if flood.seconds else 0
    absorbed = requests / flood.seconds if flood.seconds else 0
    print(f"RESULT fault_unauth_flood: sent {flood.sent} in {flood.seconds:.2f} s "
          f"({offered:.0f}/s offered, {flood.send_errors} local send errors); daemon counted "
          f"{requests:.0f} requests ({absorbed:.0f}/s absorbed), answered {answered}, dropped "
          f"{dropped:.0f}; {flood.forged_sent} forged, {verified:.0f} of them verified, "
          f"{len(flood.forged_replies)} answered; uclient lost {stats.lost} of {stats.sent}",
          flush=True)
    ctx.check(flood.sent == TOTAL, f"the flood sent all {TOTAL} requests", f"{flood.sent}")
    ctx.check(flood.seconds < 10, "within a few seconds", f"{flood.seconds:.2f} s")
    workers = f.metric(after, "turnpike_workers") or 1
    ceiling = len(SOURCES) * workers * (BURST + RATE * (flood.seconds + 1.5))
    ctx.check(answered <= ceiling,
              f"the flood got at most burst + rate per source and worker (<= {ceiling:.0f})",
              f"{answered} answers")
    ctx.check(answered > 0, "the flood got some answers (the limiter does not blackhole)")
    # Forged requests pay a token before they are verified: at most what the limit lets through
    # reaches the authenticator (before, every one of them was hashed, then dropped).
    ctx.check(verified <= ceiling,
              f"forged requests verified at most burst + rate per source and worker (<= {ceiling:.0f})",
              f"{verified:.0f} verified of {flood.forged_sent} forged")
    ctx.check(len(flood.forged_replies) <= verified,
              "every answer to a forged request followed a verification",
              f"{len(flood.forged_replies)} answers, {verified:.0f} verified")
    # Every flood request the daemon read was either answered or dropped by the limiter: what is
    # left of its request count is uclient's own (a few dozen). The kernel may drop datagrams
    # before the daemon reads them when the flood is sent faster (TURNPIKE_FLOOD_SECONDS).
    ctx.check(0 <= requests - answered - dropped <= 200,
              "the rest was dropped unanswered and counted",
              f"requests {requests:.0f}, answered {answered}, dropped {dropped:.0f}")
    ctx.check(dropped > flood.sent * 0.9, "at least 90% of the flood was dropped by the limiter",
              f"dropped {dropped:.0f} of {flood.sent}")
    # The required part of a 401: header, ERROR-CODE without reason, REALM, NONCE (29 chars),
    # FINGERPRINT (the request had one). PASSWORD-ALGORITHMS and the reason phrase are left out.
    required = 20 + 8 + 4 + stun_codec.pad4(len(daemon_config.REALM)) + 4 + stun_codec.pad4(29) + 8
    ctx.check(all(size <= max(36, required) for size in flood.replies),
              f"every 401 to the 36-byte request is the required minimum ({required} bytes)",
              f"largest {max(flood.replies) if flood.replies else None}")
    ctx.check(stats.lost == 0 and stats.sent is not None and stats.sent > 0,
              "uclient relayed with 0 loss during the flood", stats.one_line())
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("fault_unauth_flood", body))
