"""Shared helpers for turnpike's aiortc end-to-end tests (aiortc_pair.py, chromium_whip.py).

- credentials: GET /turn-credentials over HTTPS (urllib, verified against the test CA) and the
  choice of exactly one TURN URL from the answer;
- relay only: aiortc 1.4 has no iceTransportPolicy. relay_only() patches aioice so that, after
  gathering, a Connection keeps only its TURN (relay) candidate and closes its host sockets, so
  no candidate pair can use anything but the relay; filter_sdp_relay() drops non-relay
  candidates from a remote description as a second guard (and counts them);
- describe_selected(): the nominated ICE pair of every ICE transport of an RTCPeerConnection,
  with the TURN transport (udp / tcp / tls) and relayed address actually used;
- checks: soft assertions printed as PASS/FAIL lines.

Python 3 with Debian's python3-aiortc (1.4) / python3-aioice (0.8) / python3-av; nothing else.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
import urllib.request
from typing import Optional

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

T0 = time.monotonic()


def log(label: str, *parts) -> None:
    print(f"[{label} {time.monotonic() - T0:5.1f}s]", *parts, flush=True)


class Checks:
    def __init__(self) -> None:
        self.ok = True
        self.count = 0

    def check(self, cond, what: str, detail: str = "") -> bool:
        self.count += 1
        print(f"  {'PASS' if cond else 'FAIL'}  {what}{' — ' + detail if detail else ''}", flush=True)
        if not cond:
            self.ok = False
        return bool(cond)


# ---- credentials ------------------------------------------------------------------------------

def fetch_credentials(url: str, api_key: str, cafile: str, timeout_s: float = 10.0) -> dict:
    """GET <url> with "Authorization: Bearer <key>", the server verified against cafile (incl.
    the IP SAN). Returns the parsed JSON body; raises on anything but a 200 JSON object."""
    ctx = ssl.create_default_context(cafile=cafile)
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}",
                                               "Accept": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=timeout_s) as resp:
        if resp.status != 200:
            raise RuntimeError(f"GET {url}: HTTP {resp.status}")
        body = json.loads(resp.read())
    if not isinstance(body, dict) or not isinstance(body.get("iceServers"), list):
        raise RuntimeError(f"GET {url}: no iceServers in {str(body)[:200]}")
    return body


def pick_turn_server(creds: dict, transport: str) -> Optional[dict]:
    """The one iceServers entry to use: {"urls": [URL], "username", "credential"} with the first
    URL of the wanted kind: udp -> turn:...?transport=udp, tcp -> turn:...?transport=tcp,
    tls -> turns:...?transport=tcp. None when the answer has no such URL."""
    for server in creds["iceServers"]:
        urls = server.get("urls")
        urls = [urls] if isinstance(urls, str) else (urls or [])
        for u in urls:
            if transport == "udp" and u.startswith("turn:") and u.endswith("?transport=udp"):
                pass
            elif transport == "tcp" and u.startswith("turn:") and u.endswith("?transport=tcp"):
                pass
            elif transport == "tls" and u.startswith("turns:"):
                pass
            else:
                continue
            return {"urls": [u], "username": server.get("username"),
                    "credential": server.get("credential")}
    return None


def trust_ca_for_aioice(cafile: str) -> None:
    """aioice opens turns: connections with loop.create_connection(ssl=True), i.e. Python's
    default context (system trust store, hostname/IP checked). Point OpenSSL's default
    verify file at the test CA for this process only."""
    os.environ["SSL_CERT_FILE"] = cafile
    os.environ.pop("SSL_CERT_DIR", None)


# ---- relay only -------------------------------------------------------------------------------

RELAY_ONLY_STATS = {"host_sockets_closed": 0, "connections": 0}


class _Detached:
    """Receiver for a host StunProtocol that was taken out of its Connection."""

    def data_received(self, data, component) -> None:
        pass

    def request_received(self, message, addr, protocol, raw_data) -> None:
        pass


def relay_only() -> None:
    """Patches aioice.Connection.gather_candidates: after gathering, keep only relay candidates
    (and their TURN protocol); close the host UDP sockets. With no host protocol left, every
    candidate pair has the local relay candidate, and no check can leave except through TURN."""
    import aioice.ice as ice

    if getattr(ice.Connection, "_turnpike_relay_only", False):
        return
    original = ice.Connection.gather_candidates

    async def gather_relay_only(self) -> None:
        already = self._local_candidates_end
        await original(self)
        if already:
            return
        keep = [p for p in self._protocols if p.local_candidate is not None
                and p.local_candidate.type == "relay"]
        drop = [p for p in self._protocols if p not in keep]
        self._protocols = keep
        self._local_candidates = [c for c in self._local_candidates if c.type == "relay"]
        for p in drop:
            # A StunProtocol's connection_lost() tells its Connection "connection lost" (recv()
            # then raises ConnectionError): detach the host protocol before closing its socket.
            p.receiver = _Detached()
            try:
                p.transport.close()
            except Exception:  # noqa: BLE001  (already closed)
                pass
        RELAY_ONLY_STATS["host_sockets_closed"] += len(drop)
        RELAY_ONLY_STATS["connections"] += 1
        if not keep:
            raise ConnectionError("no relay candidate gathered (TURN allocation failed)")

    ice.Connection.gather_candidates = gather_relay_only
    ice.Connection._turnpike_relay_only = True


def filter_sdp_relay(sdp: str) -> tuple[str, int, int]:
    """Drops a=candidate lines that are not "typ relay". Returns (sdp, kept, dropped)."""
    out, kept, dropped = [], 0, 0
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            typ = fields[fields.index("typ") + 1] if "typ" in fields else "?"
            if typ != "relay":
                dropped += 1
                continue
            kept += 1
        out.append(line)
    return "\r\n".join(out) + "\r\n", kept, dropped


def sdp_candidates(sdp: str) -> list[str]:
    return [line[2:] for line in sdp.splitlines() if line.startswith("a=candidate:")]


# ---- selected pair ----------------------------------------------------------------------------

def ice_transports(pc) -> list:
    """The RTCIceTransports in use (bundled: usually one)."""
    seen, out = set(), []
    candidates = []
    for t in pc.getTransceivers():
        if t.receiver and t.receiver.transport:
            candidates.append(t.receiver.transport.transport)
    if pc.sctp is not None:
        candidates.append(pc.sctp.transport.transport)
    for ice in candidates:
        if id(ice) not in seen:
            seen.add(id(ice))
            out.append(ice)
    return out


def turn_transport_kind(protocol) -> str:
    """udp / tcp / tls for the TURN connection under a relay candidate's protocol, '-' if the
    protocol is not a TURN one."""
    transport = getattr(protocol, "transport", None)
    inner = getattr(transport, "_TurnTransport__inner_protocol", None)  # aioice.turn.TurnTransport
    if inner is None:
        return "-"
    kind = repr(inner)  # "turn/udp" or "turn/tcp"
    if kind == "turn/tcp":
        return "tls" if inner.transport.get_extra_info("ssl_object") is not None else "tcp"
    return kind.split("/")[-1]


def selected_pairs(pc) -> list[dict]:
    """One dict per ICE transport: local/remote candidate type and address, TURN transport."""
    out = []
    for ice in ice_transports(pc):
        conn = ice._connection
        pair = conn._nominated.get(1)
        if pair is None:
            out.append({"state": ice.state, "pair": None})
            continue
        lc, rc = pair.local_candidate, pair.remote_candidate
        out.append({
            "state": ice.state,
            "pair": True,
            "local_type": lc.type, "local": f"{lc.host}:{lc.port}",
            "local_related": f"{lc.related_address}:{lc.related_port}",
            "remote_type": rc.type, "remote": f"{rc.host}:{rc.port}",
            "turn": turn_transport_kind(pair.protocol),
            "other_protocols": [p.local_candidate.type for p in conn._protocols
                                if p is not pair.protocol],
        })
    return out


def describe_pair(p: dict) -> str:
    if not p.get("pair"):
        return f"no nominated pair (ICE {p.get('state')})"
    return (f"local relay {p['local']} via TURN/{p['turn']} from {p['local_related']} <-> remote "
            f"{p['remote_type']} {p['remote']} (ICE {p['state']})") if p["local_type"] == "relay" else (
            f"local {p['local_type']} {p['local']} <-> remote {p['remote_type']} {p['remote']}")


def check_relay_pairs(checks: Checks, who: str, pc, want_turn: str) -> list[dict]:
    pairs = selected_pairs(pc)
    checks.check(len(pairs) >= 1, f"{who}: has an ICE transport", str(len(pairs)))
    for i, p in enumerate(pairs):
        tag = f"{who} ICE transport {i}"
        if not checks.check(p.get("pair"), f"{tag}: a nominated pair", describe_pair(p)):
            continue
        checks.check(p["local_type"] == "relay" and p["remote_type"] == "relay",
                     f"{tag}: selected pair is relay <-> relay", describe_pair(p))
        checks.check(p["turn"] == want_turn, f"{tag}: local relay candidate allocated over TURN/{want_turn}",
                     p["turn"])
        checks.check(p["other_protocols"] == [], f"{tag}: no other (host) socket left to pair from",
                     str(p["other_protocols"]))
    return pairs


async def wait_for(cond, timeout_s: float, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(interval_s)
    return bool(cond())
