#!/usr/bin/env bash
# Soak test (not part of the default test run): turnpiked under steady, bounded load for
# SOAK_SECONDS (default 600), watching for leaks. On 127.0.0.1 only.
#
#  - starts build/src/turnpiked (UDP, TCP, TLS and an http /metrics listener) and a
#    `turnpike peer` echo, from SOAK_BUILD_DIR (default build);
#  - keeps three `turnpike load` loops running until the time is up: UDP, TCP and TLS
#    (SOAK_TRANSPORTS, default "udp tcp tls"), each
#    SOAK_ALLOCATIONS allocations (default 20) at SOAK_RATE packets/s (default 50) of 200 bytes for
#    SOAK_CYCLE seconds (default 20), then the next run: allocations, connections and relay ports
#    are created and released all the time (churn), while the load level stays about constant;
#  - samples turnpiked's RSS (VmRSS) and open file descriptors every SOAK_SAMPLE seconds
#    (default 10) and prints each sample;
#  - after the warm-up (SOAK_WARMUP seconds, default a third of the run), fits a least-squares line
#    to the samples and prints the slopes; fails when the RSS slope exceeds SOAK_MAX_RSS_SLOPE
#    (KiB per minute, default 512: TLS warm-up alone is up to ~300 KiB/min for the first 5
#    minutes, see docs/reliability.md) or the fd slope SOAK_MAX_FD_SLOPE (per minute, default 2);
#  - at the end, once every allocation is gone, the fd count must be back to what it was before
#    the load (no descriptor leaked) and every load run must have exited 0.
# Ports: SOAK_PORT_BASE (default 19000): +0 udp/tcp, +1 tls, +2 http, +3 peer, +100..+999 relays.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${SOAK_SECONDS:-600}
build=${SOAK_BUILD_DIR:-build}
allocations=${SOAK_ALLOCATIONS:-20}
rate=${SOAK_RATE:-50}
cycle=${SOAK_CYCLE:-20}
sample_every=${SOAK_SAMPLE:-10}
warmup=${SOAK_WARMUP:-$((seconds / 3))}
max_rss_slope=${SOAK_MAX_RSS_SLOPE:-512}
max_fd_slope=${SOAK_MAX_FD_SLOPE:-2}
base=${SOAK_PORT_BASE:-19000}
transports=${SOAK_TRANSPORTS:-udp tcp tls}
daemon=$build/src/turnpiked
cli=$build/src/turnpike

for bin in "$daemon" "$cli"; do
  [ -x "$bin" ] || { echo "soak.sh: $bin not built (cmake --build $build)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/turnpike-soak.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
cat >"$work/turnpike.json" <<EOF
{
  "listeners": [
    {"transport": "udp", "address": "127.0.0.1", "port": $base},
    {"transport": "tcp", "address": "127.0.0.1", "port": $base},
    {"transport": "tls", "address": "127.0.0.1", "port": $((base + 1))},
    {"transport": "http", "address": "127.0.0.1", "port": $((base + 2)), "metrics": true}
  ],
  "relay": {"address": "127.0.0.1", "port_min": $((base + 100)), "port_max": $((base + 999))},
  "auth": {"realm": "soak", "static_users": {"soak": "soak-password"}},
  "peers": {"allow": ["127.0.0.0/8"]},
  "tls": {"certificate": "$work/cert.pem", "private_key": "$work/key.pem"},
  "log": {"level": "info"}
}
EOF

"$daemon" --config "$work/turnpike.json" >"$work/turnpiked.log" 2>&1 &
dpid=$!
pids+=("$dpid")
for _ in $(seq 100); do
  grep -q "turnpiked ready" "$work/turnpiked.log" && break
  kill -0 "$dpid" 2>/dev/null || { cat "$work/turnpiked.log"; exit 1; }
  sleep 0.1
done
"$cli" peer --listen "127.0.0.1:$((base + 3))" >"$work/peer.log" 2>&1 &
pids+=("$!")
sleep 0.5

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$dpid/status"; }
fds() { find "/proc/$dpid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
allocations_now() {
  curl -s --max-time 5 "http://127.0.0.1:$((base + 2))/metrics" |
    awk '$1 == "turnpike_allocations" {print $2}'
}

fds_before=$(fds)
rss_before=$(rss_kb)
echo "soak: turnpiked pid $dpid, $seconds s, load loops ($transports) x $allocations allocations x $rate pkt/s," \
  "cycle $cycle s, samples every $sample_every s, warm-up $warmup s (workdir $work)"
echo "soak: before the load: rss ${rss_before} KiB, fds $fds_before"

deadline=$((SECONDS + seconds))
load_loop() {  # transport, start delay
  local transport=$1 port=$base extra=() runs=0 failed=0
  [ "$transport" = tls ] && { port=$((base + 1)); extra=(--insecure); }
  sleep "$2"  # staggered: the three loops never restart at the same moment
  while [ "$SECONDS" -lt "$deadline" ]; do
    local left=$((deadline - SECONDS))
    local d=$((left < cycle ? left : cycle))
    [ "$d" -lt 2 ] && break
    runs=$((runs + 1))
    if ! "$cli" load "127.0.0.1:$port" --peer "127.0.0.1:$((base + 3))" --transport "$transport" \
        -u soak -w soak-password -n "$allocations" -m 0 --rate "$rate" -l 200 --duration "$d" \
        --no-progress --json "${extra[@]}" >>"$work/load-$transport.json" 2>>"$work/load-$transport.err"; then
      failed=$((failed + 1))
    fi
  done
  echo "$runs $failed" >"$work/load-$transport.result"
}
delay=0
for t in $transports; do
  load_loop "$t" "$delay" &
  pids+=("$!")
  delay=$((delay + cycle / 3))
done

samples=$work/samples.txt
start=$SECONDS
echo "   t(s)   rss(KiB)   fds"
# Samples stop one period before the end, while all three loads are still running.
while [ $((SECONDS + sample_every)) -lt "$deadline" ]; do
  sleep "$sample_every"
  kill -0 "$dpid" 2>/dev/null || { echo "soak: turnpiked died"; tail -50 "$work/turnpiked.log"; exit 1; }
  t=$((SECONDS - start))
  line=$(printf '%7d %10d %5d' "$t" "$(rss_kb)" "$(fds)")
  echo "$line" | tee -a "$samples"
done
wait "${pids[@]:2}" 2>/dev/null || true  # the load loops end at the deadline

# Slopes (least squares) over the samples after the warm-up, per minute.
read -r rss_slope fd_slope n <<<"$(awk -v w="$warmup" '$1 >= w {
    n++; sx += $1; sy += $2; sz += $3; sxx += $1 * $1; sxy += $1 * $2; sxz += $1 * $3 }
  END { if (n < 3) { print "nan nan " n; exit }
        d = n * sxx - sx * sx
        printf "%.1f %.3f %d\n", 60 * (n * sxy - sx * sy) / d, 60 * (n * sxz - sx * sz) / d, n }' "$samples")"

# Drain: every load has ended; allocations go away (UDP ones are deleted by the load client).
for _ in $(seq 50); do
  [ "$(allocations_now)" = 0 ] && break
  sleep 0.2
done
sleep 1
fds_after=$(fds)
rss_after=$(rss_kb)
status=0
total_runs=0
total_failed=0
for t in $transports; do
  read -r runs failed <"$work/load-$t.result"
  total_runs=$((total_runs + runs))
  total_failed=$((total_failed + failed))
done
sent=$(grep -ho '"sent": *[0-9]*' "$work"/load-*.json | awk -F: '{s += $2} END {print s + 0}')
received=$(grep -ho '"received": *[0-9]*' "$work"/load-*.json | awk -F: '{s += $2} END {print s + 0}')

echo
echo "soak: $total_runs load runs ($total_failed failed), packets sent $sent, echoed back $received"
echo "soak: after the load: rss ${rss_after} KiB (before ${rss_before}), fds $fds_after (before $fds_before), allocations $(allocations_now)"
echo "soak: slope after ${warmup} s warm-up ($n samples): rss ${rss_slope} KiB/min (max $max_rss_slope), fds ${fd_slope}/min (max $max_fd_slope)"
if [ "$n" -lt 3 ]; then
  echo "soak: FAIL: fewer than 3 samples after the warm-up (raise SOAK_SECONDS or lower SOAK_WARMUP)"
  status=1
fi
if awk -v s="$rss_slope" -v m="$max_rss_slope" 'BEGIN { exit !(s > m) }'; then
  echo "soak: FAIL: RSS grows by $rss_slope KiB/min"
  status=1
fi
if awk -v s="$fd_slope" -v m="$max_fd_slope" 'BEGIN { exit !(s > m) }'; then
  echo "soak: FAIL: open fds grow by $fd_slope per minute"
  status=1
fi
if [ "$fds_after" -ne "$fds_before" ]; then
  echo "soak: FAIL: $fds_after fds open after the load, $fds_before before"
  status=1
fi
if [ "$total_failed" -ne 0 ]; then
  echo "soak: FAIL: $total_failed load runs failed (see $work/load-*.err)"
  status=1
fi
kill -TERM "$dpid"
wait "$dpid" || { echo "soak: FAIL: turnpiked exited non-zero"; status=1; }
if [ "$status" -eq 0 ]; then
  echo "soak: PASSED"
  rm -rf "$work"
else
  echo "soak: FAILED (logs in $work)"
fi
exit "$status"
