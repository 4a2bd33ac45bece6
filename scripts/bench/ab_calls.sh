#!/usr/bin/env bash
# A/B at production shape: two turnpiked binaries (e.g. before and after a change), N calls each
# with its own client socket and allocation, RATE packets/s of SIZE bytes (or RATE=flood), over
# UDP, through the daemon pinned to core 0; `turnpike load` and the echo peer (`turnpike peer`)
# pinned to core 1. Runs A, B, A, B and prints one line per run: loss, the daemon's CPU per
# relayed packet (per-thread schedstat, all threads), the generator's and the peer's CPU, RTT.
# Loopback only; every run is bounded by SECONDS.
#   scripts/bench/ab_calls.sh OLD_TURNPIKED NEW_TURNPIKED TURNPIKE_CLI [N RATE SIZE SECONDS]
#   e.g. scripts/bench/ab_calls.sh /tmp/old/turnpiked build/src/turnpiked build/src/turnpike \
#          1000 50 160 12          # 1000 audio calls
set -euo pipefail
A=$1 B=$2 CLI=$3 N=${4:-1000} RATE=${5:-50} SIZE=${6:-160} SECS=${7:-12}

sched_ns() { # run time of every thread of PID, in ns (/proc/PID/task/*/schedstat)
  local t a sum=0
  for t in /proc/"$1"/task/*/schedstat; do
    read -r a _ <"$t" || continue
    sum=$((sum + a))
  done
  echo "$sum"
}

run() { # LABEL DAEMON
  local label=$1 daemon=$2 tmp port peer_port d p s0 s1 q0 q1 mode
  tmp=$(mktemp -d)
  port=$((20000 + RANDOM % 5000))
  peer_port=$((port + 1))
  cat >"$tmp/t.json" <<J
{"listeners":[{"transport":"udp","address":"127.0.0.1","port":$port}],"workers":1,
 "relay":{"address":"127.0.0.1","port_min":30000,"port_max":45000},
 "auth":{"realm":"bench","static_users":{"bench":"bench-pass"}},
 "allocation":{"max_total":20000,"max_per_user":20000},"peers":{"allow":["127.0.0.0/8"]},
 "limits":{"max_connections":0,"max_connections_per_ip":0,"max_bandwidth_per_allocation":0,
           "unauthenticated_requests_per_second":0},"log":{"level":"warn"}}
J
  taskset -c 0 "$daemon" --config "$tmp/t.json" >"$tmp/d.log" 2>&1 &
  d=$!
  taskset -c 1 "$CLI" peer --listen "127.0.0.1:$peer_port" --duration $((SECS + 60)) >/dev/null 2>&1 &
  p=$!
  sleep 1.5
  if [ "$RATE" = flood ]; then mode=(--flood --window 64); else mode=(--rate "$RATE"); fi
  s0=$(sched_ns "$d")
  q0=$(sched_ns "$p")
  taskset -c 1 "$CLI" load "127.0.0.1:$port" --peer "127.0.0.1:$peer_port" -u bench \
    -w bench-pass -n "$N" "${mode[@]}" -m 0 -l "$SIZE" --duration "$SECS" \
    --setup-concurrency 200 --json --no-progress >"$tmp/l.json" 2>"$tmp/l.err" || true
  s1=$(sched_ns "$d")
  q1=$(sched_ns "$p")
  kill "$d" "$p" 2>/dev/null || true
  wait "$d" "$p" 2>/dev/null || true
  python3 - "$label" "$tmp/l.json" $((s1 - s0)) $((q1 - q0)) "$N" "$RATE" <<'PY'
import json
import sys
label, path, srv_ns, peer_ns, n, rate = sys.argv[1:7]
j = {}
for line in open(path):
    if line.startswith("{"):
        j = json.loads(line)
sent, recv = j.get("sent", 0), j.get("received", 0)
relayed = max(2 * recv, 1)
el = j.get("elapsed_s", 1) or 1
gen = j.get("cpu_s", {})
gen_s = gen.get("user", 0) + gen.get("system", 0)
rtt = j.get("rtt_us", {})
print(f"{label}: calls={n} rate={rate} sent={sent} loss={100 * (1 - recv / max(sent, 1)):.3f}% "
      f"daemon={int(srv_ns) / 1e3 / relayed:.2f} us/relayed pkt ({100 * int(srv_ns) / 1e9 / el:.0f}% of a core) "
      f"generator={100 * gen_s / el:.0f}% peer={100 * int(peer_ns) / 1e9 / el:.0f}% "
      f"whole workload={(int(srv_ns) + int(peer_ns) + gen_s * 1e9) / 1e3 / relayed:.2f} us/relayed pkt "
      f"rtt p50={rtt.get('p50')} p99={rtt.get('p99')} us")
PY
  rm -rf "$tmp"
}

for round in 1 2; do
  run "A#$round" "$A"
  run "B#$round" "$B"
done
