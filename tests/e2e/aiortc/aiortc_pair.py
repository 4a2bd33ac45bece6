#!/usr/bin/env python3
"""aiortc <-> aiortc through turnpike, relay only, over one TURN transport (udp, tcp or tls).

1. GET /turn-credentials (HTTPS, API key, server verified against the test CA) and pick the one
   URL for the transport: turn:H:P?transport=udp | turn:H:P?transport=tcp | turns:H:P?transport=tcp.
   Both peers get RTCConfiguration(iceServers=[RTCIceServer(urls=[that URL], username,
   credential)]) -- nothing else.
2. Relay only: host sockets are closed after gathering (tp_aiortc.relay_only) and non-relay
   candidates are dropped from the SDP each peer receives (none are expected).
3. Offer/answer in-process; both peers must reach connectionState "connected" (setup time =
   createOffer -> both connected).
4. DataChannel: --messages numbered messages plus one of 8 KiB each way, all must arrive complete
   and in order; 5 ping/pong round trips.
5. Audio both ways: a 440 Hz sine (offerer) and a 660 Hz sine (answerer), Opus; for
   --audio-seconds each receiver must decode >= --min-audio-fps frames/s (20 ms frames: 50/s
   nominal), most of them carrying the other side's tone (FFT peak), and the RTP
   packetsReceived must grow accordingly.
6. The nominated pair of every ICE transport on both peers is relay <-> relay, allocated over the
   requested TURN transport, with the relayed address in the daemon's relay port range.

Prints PASS/FAIL per check, a summary and one "E2E_RESULT {json}" line. Exit 0 pass, 1 fail.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import sys
import time

sys.dont_write_bytecode = True
import tp_aiortc as tp  # noqa: E402

TONES = {"offerer": 440.0, "answerer": 660.0}
RATE = 48000
FRAME = 960  # 20 ms


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--creds-url", required=True, help="https://H:P/turn-credentials")
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--transport", choices=["udp", "tcp", "tls"], required=True)
    ap.add_argument("--relay-range", default="", help="MIN-MAX: relayed ports must be in it")
    ap.add_argument("--messages", type=int, default=30)
    ap.add_argument("--audio-seconds", type=float, default=4.0)
    ap.add_argument("--min-audio-fps", type=float, default=35.0)
    ap.add_argument("--timeout", type=float, default=70.0)
    ap.add_argument("--label", default="")
    ap.add_argument("--result-file", default="", help="also write the result JSON here")
    ap.add_argument("--verbose", action="store_true")
    return ap.parse_args()


def make_sine_track(freq: float):
    import av
    import numpy as np
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    class SineTrack(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self._n = 0
            self._start = None

        async def recv(self):
            if self.readyState != "live":
                raise MediaStreamError
            now = time.time()
            if self._start is None:
                self._start = now
            else:
                wait = self._start + self._n / RATE - now
                if wait > 0:
                    await asyncio.sleep(wait)
            t = np.arange(self._n, self._n + FRAME) / RATE
            pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate = RATE
            frame.pts = self._n
            frame.time_base = fractions.Fraction(1, RATE)
            self._n += FRAME
            return frame

    return SineTrack()


class AudioSink:
    """Consumes a received audio track: counts decoded frames and frames whose dominant
    frequency is the expected tone."""

    def __init__(self, want_freq: float) -> None:
        self.want = want_freq
        self.frames = 0
        self.tone_frames = 0
        self.first_at = None
        self.last_freq = None
        self.task = None

    def start(self, track) -> None:
        self.task = asyncio.ensure_future(self._run(track))

    async def _run(self, track) -> None:
        import numpy as np
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except (MediaStreamError, asyncio.CancelledError):
                return
            if self.first_at is None:
                self.first_at = time.monotonic()
            self.frames += 1
            try:
                arr = frame.to_ndarray()
                channels = len(frame.layout.channels)
                mono = arr.reshape(-1)[::channels].astype(np.float64)
                if mono.size >= 256 and np.sqrt(np.mean(mono ** 2)) > 500:
                    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
                    freq = np.argmax(spectrum) * frame.sample_rate / mono.size
                    self.last_freq = freq
                    if abs(freq - self.want) <= 1.5 * frame.sample_rate / mono.size:
                        self.tone_frames += 1
            except Exception:  # noqa: BLE001  (a frame that cannot be analysed still counts)
                pass

    def stop(self) -> None:
        if self.task:
            self.task.cancel()


async def inbound_packets(pc) -> int:
    report = await pc.getStats()
    return sum(getattr(s, "packetsReceived", 0) for s in report.values() if s.type == "inbound-rtp")


async def run(args, checks: tp.Checks, result: dict) -> None:
    from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

    label = args.label or f"aiortc-{args.transport}"
    say = lambda *a: tp.log(label, *a)  # noqa: E731

    # 1. credentials
    t = time.monotonic()
    creds = tp.fetch_credentials(args.creds_url, args.api_key, args.cafile)
    server = tp.pick_turn_server(creds, args.transport)
    all_urls = [u for s in creds["iceServers"] for u in (s["urls"] if isinstance(s["urls"], list) else [s["urls"]])]
    say(f"GET {args.creds_url}: {len(all_urls)} URLs in {1000 * (time.monotonic() - t):.0f} ms: {all_urls}")
    if not checks.check(server is not None and server["username"] and server["credential"],
                        f"/turn-credentials offers a {args.transport} TURN URL with a credential",
                        str(server and server["urls"])):
        return
    url = server["urls"][0]
    result["url"] = url
    say(f"iceServers = [{url}] (username {server['username']}) on both peers, relay only")
    config = RTCConfiguration(iceServers=[RTCIceServer(urls=[url], username=server["username"],
                                                       credential=server["credential"])])

    pcs = {"offerer": RTCPeerConnection(config), "answerer": RTCPeerConnection(config)}
    try:
        await exchange_and_check(args, checks, result, pcs, say)
    finally:
        for pc in pcs.values():
            try:
                await asyncio.wait_for(pc.close(), 5)
            except Exception as e:  # noqa: BLE001
                say(f"close: {e!r}")


async def exchange_and_check(args, checks, result, pcs, say) -> None:
    from aiortc import RTCSessionDescription

    pc1, pc2 = pcs["offerer"], pcs["answerer"]
    sinks = {"offerer": AudioSink(TONES["answerer"]), "answerer": AudioSink(TONES["offerer"])}
    received = {"offerer": [], "answerer": []}
    channels = {}
    pongs: asyncio.Queue = asyncio.Queue()

    def attach(role, dc):
        channels[role] = dc

        @dc.on("message")
        def on_message(msg):
            if isinstance(msg, str) and msg.startswith("ping "):
                dc.send("pong " + msg[5:])
            elif isinstance(msg, str) and msg.startswith("pong "):
                pongs.put_nowait(msg[5:])
            else:
                received[role].append(msg)

    for role, pc in pcs.items():
        @pc.on("track")
        def on_track(track, role=role):
            say(f"{role}: track {track.kind}")
            if track.kind == "audio":
                sinks[role].start(track)

        @pc.on("connectionstatechange")
        async def on_state(role=role, pc=pc):
            say(f"{role}: connectionState {pc.connectionState}")

    pc2.on("datachannel", lambda dc: attach("answerer", dc))
    attach("offerer", pc1.createDataChannel("turnpike-e2e", ordered=True))
    pc1.addTrack(make_sine_track(TONES["offerer"]))

    # 3. offer / answer (aiortc gathers all candidates in setLocalDescription: no trickle)
    t_offer = time.monotonic()
    await pc1.setLocalDescription(await pc1.createOffer())
    say(f"offerer gathered in {1000 * (time.monotonic() - t_offer):.0f} ms; host sockets closed so far: "
        f"{tp.RELAY_ONLY_STATS['host_sockets_closed']}")
    offer_sdp, kept1, dropped1 = tp.filter_sdp_relay(pc1.localDescription.sdp)
    say(f"offer candidates: {tp.sdp_candidates(pc1.localDescription.sdp)}")
    await pc2.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    pc2.addTrack(make_sine_track(TONES["answerer"]))
    await pc2.setLocalDescription(await pc2.createAnswer())
    answer_sdp, kept2, dropped2 = tp.filter_sdp_relay(pc2.localDescription.sdp)
    say(f"answer candidates: {tp.sdp_candidates(pc2.localDescription.sdp)}")
    await pc1.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
    checks.check(kept1 >= 1 and kept2 >= 1, "both descriptions carry a relay candidate",
                 f"offer {kept1}, answer {kept2}")
    checks.check(dropped1 == 0 and dropped2 == 0,
                 "no non-relay candidate was advertised (host sockets closed after gathering)",
                 f"dropped offer {dropped1}, answer {dropped2}")

    both = lambda: pc1.connectionState == "connected" and pc2.connectionState == "connected"  # noqa: E731
    bad = lambda: {pc1.connectionState, pc2.connectionState} & {"failed", "closed"}  # noqa: E731
    await tp.wait_for(lambda: both() or bad(), 30)
    setup_ms = 1000 * (time.monotonic() - t_offer)
    if not checks.check(both(), "both peers connected through the relay",
                        f"offerer {pc1.connectionState}, answerer {pc2.connectionState}"):
        return
    result["setup_ms"] = round(setup_ms)
    say(f"connected: setup {setup_ms:.0f} ms (createOffer -> both 'connected')")

    # 4. DataChannel
    opened = await tp.wait_for(lambda: "answerer" in channels and channels["offerer"].readyState == "open"
                               and channels["answerer"].readyState == "open", 10)
    if checks.check(opened, "DataChannel open on both peers"):
        big = "x" * 8192
        for role, prefix in (("offerer", "o->a"), ("answerer", "a->o")):
            for i in range(args.messages):
                channels[role].send(f"{prefix} #{i}")
            channels[role].send(f"{prefix} big:{big}")
        n = args.messages + 1
        await tp.wait_for(lambda: len(received["answerer"]) >= n and len(received["offerer"]) >= n, 10)
        for role, prefix in (("answerer", "o->a"), ("offerer", "a->o")):
            want = [f"{prefix} #{i}" for i in range(args.messages)] + [f"{prefix} big:{big}"]
            got = received[role]
            checks.check(got == want, f"{prefix}: {n} messages (incl. one of 8 KiB) complete and in order",
                         f"{len(got)} received")
        result["dc_messages_each_way"] = n
        result["dc_received"] = {"o->a": len(received["answerer"]), "a->o": len(received["offerer"])}
        rtts = []
        for i in range(5):
            t = time.monotonic()
            channels["offerer"].send(f"ping {i}")
            try:
                token = await asyncio.wait_for(pongs.get(), 3)
                if token == str(i):
                    rtts.append(1000 * (time.monotonic() - t))
            except asyncio.TimeoutError:
                pass
        result["dc_rtt_ms"] = round(min(rtts), 1) if rtts else None
        checks.check(len(rtts) == 5, "DataChannel ping/pong round trips",
                     f"{len(rtts)}/5, min {result['dc_rtt_ms']} ms")

    # 5. audio both ways
    first = await tp.wait_for(lambda: all(s.frames > 0 for s in sinks.values()), 10)
    checks.check(first, "both peers decode received audio frames",
                 ", ".join(f"{r} {s.frames}" for r, s in sinks.items()))
    await asyncio.sleep(1.0)  # warm-up (jitter buffer)
    f0 = {r: (s.frames, s.tone_frames) for r, s in sinks.items()}
    p0 = {r: await inbound_packets(pc) for r, pc in pcs.items()}
    t0 = time.monotonic()
    await asyncio.sleep(args.audio_seconds)
    dt = time.monotonic() - t0
    p1 = {r: await inbound_packets(pc) for r, pc in pcs.items()}
    result["audio"] = {}
    for role, sink in sinks.items():
        frames = sink.frames - f0[role][0]
        tones = sink.tone_frames - f0[role][1]
        packets = p1[role] - p0[role]
        fps = frames / dt
        other = "answerer" if role == "offerer" else "offerer"
        result["audio"][role] = {"frames": frames, "fps": round(fps, 1), "tone_frames": tones,
                                 "rtp_packets": packets, "rtp_packets_total": p1[role],
                                 "frames_total": sink.frames}
        checks.check(fps >= args.min_audio_fps,
                     f"{role} decodes >= {args.min_audio_fps:g} audio frames/s from the {other}",
                     f"{frames} frames in {dt:.2f} s = {fps:.1f}/s")
        checks.check(frames > 0 and tones >= 0.8 * frames,
                     f"{role}: >= 80 % of those frames carry the {other}'s {sink.want:g} Hz tone",
                     f"{tones}/{frames}, last peak {sink.last_freq and round(sink.last_freq)} Hz")
        checks.check(packets >= args.min_audio_fps * dt,
                     f"{role}: RTP packetsReceived grew by >= {args.min_audio_fps * dt:.0f}",
                     f"+{packets} (total {p1[role]})")

    # 6. selected pairs
    lo, hi = (int(x) for x in args.relay_range.split("-")) if args.relay_range else (1, 65535)
    result["pairs"] = {}
    for role, pc in pcs.items():
        pairs = tp.check_relay_pairs(checks, role, pc, args.transport)
        result["pairs"][role] = [tp.describe_pair(p) for p in pairs]
        for p in pairs:
            if p.get("pair"):
                port = int(p["local"].rsplit(":", 1)[1])
                checks.check(lo <= port <= hi, f"{role}: relayed port {port} in the daemon's relay range {lo}-{hi}")
        say(f"{role} selected: {' | '.join(result['pairs'][role])}")
    checks.check(both(), "both peers still connected at the end",
                 f"{pc1.connectionState}/{pc2.connectionState}")
    for s in sinks.values():
        s.stop()


def main() -> int:
    args = parse_args()
    label = args.label or f"aiortc-{args.transport}"
    try:
        import aioice
        import aiortc
        import av
    except ImportError as e:
        print(f"SKIP: {e} (apt-get install python3-aiortc python3-av)", flush=True)
        return 77
    tp.log(label, f"aiortc {aiortc.__version__}, aioice {aioice.__version__}, av {av.__version__}, "
           f"Python {sys.version.split()[0]}")
    if args.verbose:
        import logging
        logging.basicConfig(level=logging.DEBUG)
    tp.trust_ca_for_aioice(args.cafile)
    tp.relay_only()

    checks = tp.Checks()
    result: dict = {"label": label, "transport": args.transport}
    try:
        asyncio.run(asyncio.wait_for(run(args, checks, result), args.timeout))
    except asyncio.TimeoutError:
        checks.check(False, f"finished within {args.timeout:g} s")
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        checks.check(False, "no exception", repr(e))
    result["ok"] = checks.ok
    a = result.get("audio", {})
    print("", flush=True)
    print(f"==== {label} summary ====")
    print(f"  TURN server   : {result.get('url')}")
    print(f"  setup time    : {result.get('setup_ms')} ms (createOffer -> both 'connected')")
    for role in ("offerer", "answerer"):
        r = a.get(role)
        if r:
            print(f"  audio {role:9}: {r['frames']} frames ({r['fps']}/s, {r['tone_frames']} with the tone), "
                  f"+{r['rtp_packets']} RTP packets over the window; {r['frames_total']} frames total")
    print(f"  datachannel   : {result.get('dc_messages_each_way')} messages each way, received "
          f"{result.get('dc_received')}, RTT {result.get('dc_rtt_ms')} ms")
    for role, pairs in result.get("pairs", {}).items():
        for p in pairs:
            print(f"  pair {role:9}: {p}")
    print(f"  result        : {'PASS' if checks.ok else 'FAIL'}", flush=True)
    print("E2E_RESULT " + json.dumps(result), flush=True)
    if args.result_file:
        with open(args.result_file, "w") as f:
            json.dump(result, f)
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
