#!/usr/bin/env python3
"""Headless Chromium -> aiortc through turnpike over TURN/TLS: a WHIP-style publisher into a
Python media server, relay only on both sides.

1. This script fetches /turn-credentials (HTTPS, API key, test CA) and keeps ONLY the turns: URL
   for its aiortc peer; Chromium's page fetches its own credentials from the same endpoint
   (cross-origin, CORS preflight) and keeps only the turns: URL too, with iceTransportPolicy
   'relay'.
2. A tiny HTTP server here (127.0.0.1:--whip-port) serves the publisher page (whip.html) and is
   the WHIP endpoint: POST /whip with an application/sdp offer -> 201 Created, Location
   /whip/1, the answer (non-trickle, relay candidates only); DELETE /whip/1 ends the session.
3. chromium_whip.mjs launches /usr/bin/chromium (Playwright, fake camera 640x480 @ 30 fps),
   publishes, and reports its setup time (createOffer -> 'connected') and final getStats.
4. The aiortc peer receives AND DECODES the video (recv() on the track): after a 2 s warm-up it
   must decode >= --min-fps frames/s over --measure-seconds, frames must change over time.
5. Both selected pairs must be relay <-> relay: aiortc's nominated pair over TURN/TLS (host
   sockets closed after gathering), Chromium's local candidate relay with relayProtocol 'tls'.

Prints PASS/FAIL per check, frames received, setup times, a summary and "E2E_RESULT {json}".
Exit 0 pass, 1 fail, 77 skip (prerequisite missing).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True
import tp_aiortc as tp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LABEL = "chromium-aiortc"


def say(*a) -> None:
    tp.log(LABEL, *a)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--creds-url", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--home", required=True, help="HOME whose NSS database trusts the test CA")
    ap.add_argument("--profile", required=True, help="Chromium profile directory")
    ap.add_argument("--relay-range", default="")
    ap.add_argument("--whip-port", type=int, default=0,
                    help="port of the WHIP server (and of the page's origin, which the daemon's "
                         "credentials.cors_origins must allow)")
    ap.add_argument("--min-fps", type=float, default=10.0)
    ap.add_argument("--warmup-seconds", type=float, default=2.0)
    ap.add_argument("--measure-seconds", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=75.0)
    ap.add_argument("--label", default=LABEL)
    ap.add_argument("--result-file", default="")
    ap.add_argument("--verbose", action="store_true")
    return ap.parse_args()


# ---- WHIP-style signaling server ------------------------------------------------------------

class WhipServer:
    """HTTP/1.1 on 127.0.0.1:<port>: GET /whip.html (the publisher page), POST /whip
    (application/sdp) -> 201 + answer, DELETE /whip/1. The page is served from here so that it
    is a loopback origin (a secure context, and Chromium's Local Network Access lets it reach the
    loopback TURN server's HTTPS endpoint and this one)."""

    def __init__(self, port: int, on_offer, on_delete) -> None:
        self.on_offer = on_offer
        self.on_delete = on_delete
        self.server = None
        self.port = port
        self.requests: list[str] = []
        with open(os.path.join(HERE, "whip.html"), "rb") as f:
            self.page = f.read()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await asyncio.wait_for(reader.readline(), 60)
                if not line.strip():
                    break
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = await asyncio.wait_for(reader.readline(), 10)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, v = h.decode("latin-1").split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                if n > 1 << 20:
                    break
                body = await reader.readexactly(n) if n else b""
                self.requests.append(f"{method} {target}")
                status, rh, rbody = await self._route(method, target.split("?")[0], headers, body)
                reason = {200: "OK", 201: "Created", 404: "Not Found", 405: "Method Not Allowed",
                          409: "Conflict", 415: "Unsupported Media Type",
                          500: "Internal Server Error"}[status]
                head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(rbody)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in rh.items()) + "\r\n"
                writer.write(head.encode("latin-1") + rbody)
                await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def _route(self, method, path, headers, body):
        if path == "/whip.html":
            if method != "GET":
                return 405, {"Allow": "GET"}, b""
            return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, self.page
        if path == "/whip":
            if method != "POST":
                return 405, {"Allow": "POST"}, b""
            if not headers.get("content-type", "").startswith("application/sdp"):
                return 415, {}, b"expected application/sdp"
            try:
                status, answer = await self.on_offer(body.decode())
            except Exception as e:  # noqa: BLE001
                say(f"WHIP offer failed: {e!r}")
                return 500, {"Content-Type": "text/plain"}, repr(e).encode()
            if status != 201:
                return status, {"Content-Type": "text/plain"}, answer.encode()
            return 201, {"Content-Type": "application/sdp", "Location": "/whip/1",
                         "Cache-Control": "no-store"}, answer.encode()
        if path == "/whip/1":
            if method != "DELETE":
                return 405, {"Allow": "DELETE"}, b""
            await self.on_delete()
            return 200, {}, b""
        return 404, {}, b""


# ---- the aiortc receiver ----------------------------------------------------------------------

class VideoSink:
    def __init__(self) -> None:
        self.frames = 0
        self.first_at = None
        self.size = None
        self.hashes: set = set()
        self.task = None

    def start(self, track) -> None:
        self.task = asyncio.ensure_future(self._run(track))

    async def _run(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()  # decoded av.VideoFrame
            except (MediaStreamError, asyncio.CancelledError):
                return
            if self.first_at is None:
                self.first_at = time.monotonic()
            self.frames += 1
            self.size = (frame.width, frame.height)
            if self.frames % 15 == 1 and len(self.hashes) < 100:
                try:
                    self.hashes.add(hashlib.sha1(bytes(frame.planes[0])).hexdigest())
                except Exception:  # noqa: BLE001
                    pass

    def stop(self) -> None:
        if self.task:
            self.task.cancel()


class Receiver:
    """One WHIP session: the aiortc RTCPeerConnection that answers Chromium's offer."""

    def __init__(self, config) -> None:
        self.config = config
        self.pc = None
        self.sink = VideoSink()
        self.t_post = None
        self.t_answer = None
        self.t_connected = None
        self.offer_kept = self.offer_dropped = 0
        self.answer_kept = self.answer_dropped = 0
        self.offer_candidates: list[str] = []
        self.codec = None
        self.deleted = False

    async def on_offer(self, sdp: str):
        from aiortc import RTCPeerConnection, RTCSessionDescription

        if self.pc is not None:
            return 409, "one publisher only"
        self.t_post = time.monotonic()
        self.offer_candidates = tp.sdp_candidates(sdp)
        offer, self.offer_kept, self.offer_dropped = tp.filter_sdp_relay(sdp)
        say(f"WHIP POST: offer with {len(self.offer_candidates)} candidates: {self.offer_candidates}")
        pc = self.pc = RTCPeerConnection(self.config)

        @pc.on("track")
        def on_track(track):
            say(f"aiortc: track {track.kind}")
            if track.kind == "video":
                self.sink.start(track)

        @pc.on("connectionstatechange")
        async def on_state():
            say(f"aiortc: connectionState {pc.connectionState}")
            if pc.connectionState == "connected" and self.t_connected is None:
                self.t_connected = time.monotonic()

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer, self.answer_kept, self.answer_dropped = tp.filter_sdp_relay(pc.localDescription.sdp)
        for line in answer.splitlines():
            if line.startswith("a=rtpmap:") and self.codec is None:
                self.codec = line.split(" ", 1)[1]
        self.t_answer = time.monotonic()
        say(f"WHIP answer in {1000 * (self.t_answer - self.t_post):.0f} ms: codec {self.codec}, "
            f"candidates {tp.sdp_candidates(answer)}")
        return 201, answer

    async def on_delete(self) -> None:
        self.deleted = True
        say("WHIP DELETE")


# ---- driver process ---------------------------------------------------------------------------

class Driver:
    def __init__(self) -> None:
        self.proc = None
        self.messages: dict = {}
        self.event = asyncio.Event()
        self.reader = None

    async def start(self, args, whip_url: str) -> None:
        env = dict(os.environ)
        env["TURNPIKE_E2E_API_KEY"] = args.api_key
        env.pop("SSL_CERT_FILE", None)
        self.proc = await asyncio.create_subprocess_exec(
            args.node, os.path.join(HERE, "chromium_whip.mjs"), "--whip-url", whip_url,
            "--creds-url", args.creds_url, "--chromium", args.chromium, "--home", args.home,
            "--profile", args.profile, "--timeout", str(int(args.timeout - 5)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").rstrip()
            tag, _, rest = text.partition(" ")
            if tag.startswith("DRIVER_"):
                try:
                    self.messages[tag] = json.loads(rest)
                except ValueError:
                    self.messages[tag] = {"raw": rest}
                shown = rest if len(rest) < 600 or tag == "DRIVER_ERROR" else rest[:600] + " ..."
                print(f"  chromium: {tag} {shown}", flush=True)
                self.event.set()
            else:
                print(f"  {text}", flush=True)
        self.event.set()

    async def wait_for(self, *tags, timeout_s: float):
        """The first of tags (or DRIVER_ERROR) to arrive; None on timeout or driver exit."""
        deadline = time.monotonic() + timeout_s
        while True:
            for t in tags + ("DRIVER_ERROR",):
                if t in self.messages:
                    return t
            if self.reader.done() or time.monotonic() > deadline:
                return None
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), max(0.05, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def stop(self, graceful: bool) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        if graceful:
            try:
                self.proc.stdin.write(b"stop\n")
                await self.proc.stdin.drain()
                self.proc.stdin.close()
                await asyncio.wait_for(self.proc.wait(), 15)
                return
            except (asyncio.TimeoutError, ConnectionError):
                pass
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 8)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


# ---- the test ---------------------------------------------------------------------------------

async def run(args, checks: tp.Checks, result: dict) -> None:
    from aiortc import RTCConfiguration, RTCIceServer

    creds = tp.fetch_credentials(args.creds_url, args.api_key, args.cafile)
    server = tp.pick_turn_server(creds, "tls")
    if not checks.check(server is not None, "/turn-credentials offers a turns: URL", str(server and server["urls"])):
        return
    url = server["urls"][0]
    result["url"] = url
    say(f"aiortc iceServers = [{url}] (username {server['username']}), relay only")
    config = RTCConfiguration(iceServers=[RTCIceServer(urls=[url], username=server["username"],
                                                       credential=server["credential"])])
    rx = Receiver(config)
    whip = WhipServer(args.whip_port, rx.on_offer, rx.on_delete)
    await whip.start()
    whip_url = f"http://127.0.0.1:{whip.port}/whip"
    say(f"WHIP endpoint {whip_url}")
    driver = Driver()
    graceful = False
    try:
        await driver.start(args, whip_url)
        graceful = await measure(args, checks, result, rx, driver)
    finally:
        await driver.stop(graceful)
        if driver.reader:
            try:
                await asyncio.wait_for(driver.reader, 5)
            except asyncio.TimeoutError:
                pass
        rx.sink.stop()
        if rx.pc:
            try:
                await asyncio.wait_for(rx.pc.close(), 5)
            except Exception as e:  # noqa: BLE001
                say(f"close: {e!r}")
        await whip.close()
    if graceful:
        check_driver_result(checks, result, driver, rx)


async def measure(args, checks, result, rx: Receiver, driver: Driver) -> bool:
    tag = await driver.wait_for("DRIVER_CONNECTED", timeout_s=45)
    if not checks.check(tag == "DRIVER_CONNECTED", "Chromium published and reached 'connected'",
                        f"{tag or 'no report / driver exited'}"):
        return False
    conn = driver.messages["DRIVER_CONNECTED"]
    result["chromium_setup_ms"] = round(conn["setupMs"]) if conn.get("setupMs") is not None else None
    result["chromium_creds_ms"] = round(conn["credsMs"]) if conn.get("credsMs") is not None else None
    checks.check(rx.offer_kept >= 1 and rx.offer_dropped == 0,
                 "Chromium's offer carries only relay candidates",
                 f"{rx.offer_kept} relay, {rx.offer_dropped} other")
    checks.check(rx.answer_kept >= 1 and rx.answer_dropped == 0,
                 "aiortc's answer carries only relay candidates",
                 f"{rx.answer_kept} relay, {rx.answer_dropped} other")
    ok = await tp.wait_for(lambda: rx.pc.connectionState == "connected" and rx.sink.first_at is not None, 15)
    if not checks.check(ok, "aiortc connected and decoded a first video frame",
                        f"connectionState {rx.pc.connectionState}, frames {rx.sink.frames}"):
        return True
    result["aiortc_setup_ms"] = round(1000 * (rx.t_connected - rx.t_post))
    result["first_frame_ms"] = round(1000 * (rx.sink.first_at - rx.t_post))
    say(f"aiortc connected {result['aiortc_setup_ms']} ms after the POST, first decoded frame after "
        f"{result['first_frame_ms']} ms; Chromium setup {result['chromium_setup_ms']} ms")

    await asyncio.sleep(args.warmup_seconds)
    f0, h0, t0 = rx.sink.frames, len(rx.sink.hashes), time.monotonic()
    await asyncio.sleep(args.measure_seconds)
    frames, dt = rx.sink.frames - f0, time.monotonic() - t0
    fps = frames / dt
    w, h = rx.sink.size or (0, 0)
    result["video"] = {"frames": frames, "seconds": round(dt, 2), "fps": round(fps, 1),
                       "frames_total": rx.sink.frames, "width": w, "height": h,
                       "codec": rx.codec, "first_frame_ms": result["first_frame_ms"],
                       "distinct_sampled": len(rx.sink.hashes)}
    say(f"decoded {frames} frames in {dt:.2f} s = {fps:.1f} fps ({w}x{h}), {rx.sink.frames} total")
    checks.check(fps >= args.min_fps, f"aiortc decodes >= {args.min_fps:g} fps from Chromium",
                 f"{frames} frames in {dt:.2f} s = {fps:.1f} fps")
    checks.check((w, h) == (640, 480) or (w >= 160 and h >= 120),
                 "decoded frames have a plausible size (640x480 unless Chromium scaled down)", f"{w}x{h}")
    checks.check(len(rx.sink.hashes) > h0 and len(rx.sink.hashes) >= 3,
                 "decoded picture changes over time (sampled frames differ)",
                 f"{len(rx.sink.hashes)} distinct of the sampled frames")

    lo, hi = (int(x) for x in args.relay_range.split("-")) if args.relay_range else (1, 65535)
    pairs = tp.check_relay_pairs(checks, "aiortc", rx.pc, "tls")
    result["aiortc_pairs"] = [tp.describe_pair(p) for p in pairs]
    for p in pairs:
        if p.get("pair"):
            port = int(p["local"].rsplit(":", 1)[1])
            checks.check(lo <= port <= hi, f"aiortc: relayed port {port} in the daemon's relay range {lo}-{hi}")
    say(f"aiortc selected: {' | '.join(result['aiortc_pairs'])}")
    return True


def check_driver_result(checks, result, driver: Driver, rx: Receiver) -> None:
    r = driver.messages.get("DRIVER_RESULT")
    if not checks.check(r is not None, "Chromium reported its final stats"):
        return
    pair = r.get("pair") or {}
    local, remote = pair.get("local") or {}, pair.get("remote") or {}
    desc = (f"local {local.get('candidateType')}/{local.get('relayProtocol')} {local.get('address')}:{local.get('port')} "
            f"<-> remote {remote.get('candidateType')} {remote.get('address')}:{remote.get('port')}, "
            f"state {pair.get('state')}, nominated {pair.get('nominated')}")
    result["chromium_pair"] = desc
    # The transport's selected pair may briefly show "in-progress" while a consent-freshness
    # check (RFC 7675) is outstanding; frames decoded above prove it carried the media.
    checks.check(local.get("candidateType") == "relay" and local.get("relayProtocol") == "tls"
                 and pair.get("state") in ("succeeded", "in-progress") and pair.get("nominated"),
                 "Chromium: selected pair's local candidate is relay over TLS (nominated)", desc)
    checks.check(remote.get("candidateType") == "relay", "Chromium: selected pair's remote candidate is relay",
                 str(remote.get("candidateType")))
    out = r.get("outbound") or {}
    result["chromium_outbound"] = out
    checks.check((out.get("framesSent") or 0) > 0, "Chromium sent video frames",
                 f"{out.get('framesSent')} frames sent, {out.get('frameWidth')}x{out.get('frameHeight')} "
                 f"{out.get('codec')}, encoder {out.get('encoderImplementation')}, "
                 f"quality limitation {out.get('qualityLimitationReason')}")
    checks.check(rx.deleted, "Chromium ended the session with DELETE on the WHIP resource")


def main() -> int:
    args = parse_args()
    global LABEL
    LABEL = args.label
    try:
        import aioice
        import aiortc
        import av
    except ImportError as e:
        print(f"SKIP: {e} (apt-get install python3-aiortc python3-av)", flush=True)
        return 77
    say(f"aiortc {aiortc.__version__}, aioice {aioice.__version__}, av {av.__version__}")
    if args.verbose:
        import logging
        logging.basicConfig(level=logging.DEBUG)
    tp.trust_ca_for_aioice(args.cafile)
    tp.relay_only()
    checks = tp.Checks()
    result: dict = {"label": LABEL, "transport": "tls"}

    async def top() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, task.cancel)
        await asyncio.wait_for(run(args, checks, result), args.timeout)

    try:
        asyncio.run(top())
    except asyncio.TimeoutError:
        checks.check(False, f"finished within {args.timeout:g} s")
    except asyncio.CancelledError:
        checks.check(False, "not interrupted (terminated by a signal)")
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        checks.check(False, "no exception", repr(e))
    result["ok"] = checks.ok
    v = result.get("video") or {}
    print("", flush=True)
    print(f"==== {LABEL} summary ====")
    print(f"  TURN server     : {result.get('url')} (both peers, relay only)")
    print(f"  setup time      : Chromium createOffer -> 'connected' {result.get('chromium_setup_ms')} ms; "
          f"aiortc POST -> 'connected' {result.get('aiortc_setup_ms')} ms; "
          f"credentials fetch in the page {result.get('chromium_creds_ms')} ms")
    print(f"  frames received : {v.get('frames')} decoded in {v.get('seconds')} s = {v.get('fps')} fps "
          f"({v.get('width')}x{v.get('height')} {v.get('codec')}); {v.get('frames_total')} total; "
          f"first frame {v.get('first_frame_ms')} ms after the POST")
    for p in result.get("aiortc_pairs", []):
        print(f"  aiortc pair     : {p}")
    print(f"  chromium pair   : {result.get('chromium_pair')}")
    print(f"  result          : {'PASS' if checks.ok else 'FAIL'}", flush=True)
    print("E2E_RESULT " + json.dumps(result), flush=True)
    if args.result_file:
        with open(args.result_file, "w") as f:
            json.dump(result, f)
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
