#!/usr/bin/env bash
# Relay benchmark (not a test): turnpiked against coturn's turnserver and a raw UDP forwarder
# (tests/bench/raw_forwarder, the least work a relay must do), all driven by the same generator,
# `turnpike load`, with `turnpike peer` as the echo peer. Loopback (127.0.0.1) only; every step
# is bounded in count and time. Writes docs/benchmarks.md (BENCH_OUTPUT) when every step worked.
#
#   scripts/bench.sh                 # ~5 minutes
#   BENCH_QUICK=1 scripts/bench.sh   # every step ~2 s (smoke check)
#
# Environment:
#   BENCH_BUILD_DIR  RelWithDebInfo build directory (default build-bench); configured when absent
#   BENCH_JOBS       parallel build jobs (default 1)
#   BENCH_NO_BUILD=1 use the binaries already in BENCH_BUILD_DIR
#   BENCH_OUTPUT     Markdown report (default docs/benchmarks.md)
#   BENCH_QUICK=1    short steps, fewer allocations
#   BENCH_KEEP=1     keep the scratch directory (logs, JSON of every run)
#
# Cores: with >= 2 CPUs the server runs on core 0 (taskset -c 0; turnpiked with one worker,
# coturn with one relay thread) and the generator and echo peer on core 1. Per server:
#   - flood throughput: 16 allocations, --flood (window 64), UDP and TLS, 100 and 1000-byte
#     payloads: relayed packets/s and relayed packets per server CPU-second. "Relayed" counts both
#     directions: 2 x the echoes the generator got back (each crossed the server twice). Server
#     CPU = utime+stime of the server process (all threads) from /proc/PID/stat around the run;
#   - the highest paced rate with < 0.1 % loss (UDP, 100 B, 16 allocations; a short search);
#   - allocations/s and allocations per server CPU-second (N allocations, 64 set up at a time;
#     the CPU covers each allocation's whole life: 401 + Allocate, CreatePermission, ChannelBind,
#     one packet each way, Refresh 0);
#   - RSS per held allocation: VmRSS of a freshly started server before, and while 10,000
#     allocations are held open (`turnpike load --hold`);
#   - RTT p50/p99 at 16 x 100 packets/s, 100 B (the raw forwarder's is the floor);
#   - the generator's own CPU use (getrusage, its JSON cpu_s) and the peer's, to flag runs where
#     core 1, not the server, was the limit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build-bench}
JOBS=${BENCH_JOBS:-1}
OUTPUT=${BENCH_OUTPUT:-$ROOT/docs/benchmarks.md}
QUICK=${BENCH_QUICK:-0}

HOST=127.0.0.1
TP_PORT=32101 # turnpiked udp+tcp
TP_TLS=32102
CT_PORT=32111 # coturn udp+tcp (+1: its RFC 5780 alternative port)
CT_TLS=32113  # (+1 likewise)
RAW_PORT=32121
PEER_PORT=32131
RELAY_MIN=4000 # below the ephemeral range and the integration tests' port blocks (20000-31999)
RELAY_MAX=18999
BENCH_USER=bench
BENCH_PASS=bench-pass
REALM=turnpike.bench
ALLOCS=16 # allocations of the throughput, search and RTT steps
WINDOW=64
SETUP_CONCURRENCY=64

# A pause before every run: a server may still be tearing down the last run's allocations, and a
# new client socket that gets the port of one of them is refused (coturn answers 437 for ~1 s).
PAUSE_S=1
if [[ $QUICK == 1 ]]; then
  FLOOD_S=2 STEP_S=2 SEARCH_STEPS=3 ALLOC_N=500 RSS_N=2000 HOLD_S=1 RTT_S=2 RTT_RUNS=1 SETTLE_S=1
  TLS_LADDER="60000 120000"
else
  FLOOD_S=8 STEP_S=4 SEARCH_STEPS=6 ALLOC_N=2000 RSS_N=10000 HOLD_S=2 RTT_S=5 RTT_RUNS=5 SETTLE_S=5
  TLS_LADDER="40000 60000 80000 100000 120000 150000 180000 220000"
fi

log() { printf '%s\n' "bench: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

for tool in python3 openssl awk ss; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
TURNSERVER=$(command -v turnserver || true)
[[ -n $TURNSERVER ]] || die "coturn's turnserver is not installed (Debian package coturn): no comparison"

# ---- build ----
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
    log "configuring $BUILD_DIR (RelWithDebInfo)"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  log "building turnpiked turnpike raw_forwarder in $BUILD_DIR (-j$JOBS)"
  cmake --build "$BUILD_DIR" -j "$JOBS" --target turnpiked turnpike raw_forwarder >/dev/null
fi
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
[[ $BUILD_TYPE == RelWithDebInfo || $BUILD_TYPE == Release ]] ||
  die "$BUILD_DIR is a '$BUILD_TYPE' build; benchmarks need RelWithDebInfo or Release"
DAEMON=$BUILD_DIR/src/turnpiked
CLI=$BUILD_DIR/src/turnpike
RAW=$BUILD_DIR/tests/bench/raw_forwarder
for bin in "$DAEMON" "$CLI" "$RAW"; do
  [[ -x $bin ]] || die "$bin is not built"
done

# ---- environment ----
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
if [[ $NOFILE != unlimited ]] && ((NOFILE < RSS_N + 500)); then
  RSS_N=$((NOFILE - 500))
  log "open-file limit $NOFILE: holding $RSS_N allocations instead"
fi
NCPU=$(nproc)
SRV_PIN=()
GEN_PIN=()
if ((NCPU >= 2)) && command -v taskset >/dev/null; then
  SRV_PIN=(taskset -c 0)
  GEN_PIN=(taskset -c 1)
  CORES="server on core 0 (taskset -c 0), generator and echo peer on core 1 (taskset -c 1)"
else
  CORES="not pinned ($NCPU CPU(s) or no taskset): server, generator and peer share the CPU"
fi
CLK_TCK=$(getconf CLK_TCK)
for port in $TP_PORT $TP_TLS $CT_PORT $((CT_PORT + 1)) $CT_TLS $((CT_TLS + 1)) $RAW_PORT $PEER_PORT; do
  if [[ -n $(ss -Hlnu "sport = :$port") || -n $(ss -Hlnt "sport = :$port") ]]; then
    die "port $port on this machine is in use"
  fi
done

TMP=$(mktemp -d -t turnpike-bench.XXXXXX)
declare -A LIVE=() # pid -> name of every process started here that may still run
running() {        # PID exists and is not a zombie (our children stay zombies until waited for)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}
stop_pid() {
  local pid=$1 i
  unset "LIVE[$pid]"
  running "$pid" || {
    wait "$pid" 2>/dev/null || true
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    running "$pid" || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  trap - EXIT
  for pid in "${!LIVE[@]}"; do stop_pid "$pid"; done
  if [[ ${BENCH_KEEP:-0} == 1 || $rc != 0 ]]; then
    log "scratch directory kept: $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
: >"$TMP/commands.txt"

record() { printf '%s\n' "$*" >>"$TMP/commands.txt"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
fmt0() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.0f", v }'; }
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; } # VALUE DECIMALS
cpu_ticks() { # utime + stime of every thread of PID, in clock ticks
  local stat fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
    echo 0
    return
  }
  read -r -a fields <<<"${stat##*) }"
  echo $((fields[11] + fields[12]))
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
busy_ticks() { # busy time of all CPUs (user nice system irq softirq steal), in clock ticks
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
# jget FILE KEY...: values of dotted keys of the last JSON object line of FILE, one per line.
jget() {
  python3 - "$@" <<'PY'
import json
import sys
obj = {}
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                pass
for key in sys.argv[2:]:
    v = obj
    for k in key.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    print("" if v is None else v)
PY
}

# ---- processes ----
SRV_PID=
PEER_PID=
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
  die "openssl could not make the test certificate"

wait_ready() { # NAME PID UDP_PORT [TCP_PORT...]: waits up to 15 s for the listeners
  local name=$1 pid=$2 udp=$3 i port ok
  shift 3
  for ((i = 0; i < 150; i++)); do
    running "$pid" || return 1
    ok=1
    [[ -n $(ss -Hlnu "sport = :$udp") ]] || ok=0
    for port in "$@"; do
      [[ -n $(ss -Hlnt "sport = :$port") ]] || ok=0
    done
    if ((ok)); then
      log "$name ready (pid $pid)"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

start_peer() {
  local cmd=("${GEN_PIN[@]}" "$CLI" peer --listen "$HOST:$PEER_PORT" --duration 1800)
  record "${cmd[*]} &"
  "${cmd[@]}" >"$TMP/peer.log" 2>&1 &
  PEER_PID=$!
  LIVE[$PEER_PID]=peer
  wait_ready "turnpike peer" "$PEER_PID" "$PEER_PORT" || die "turnpike peer did not start"
}

start_turnpike() {
  cat >"$TMP/turnpike.json" <<EOF
{
  "listeners": [
    {"transport": "udp", "address": "$HOST", "port": $TP_PORT},
    {"transport": "tcp", "address": "$HOST", "port": $TP_PORT},
    {"transport": "tls", "address": "$HOST", "port": $TP_TLS}
  ],
  "tls": {"certificate": "$TMP/cert.pem", "private_key": "$TMP/key.pem"},
  "workers": 1,
  "relay": {"address": "$HOST", "port_min": $RELAY_MIN, "port_max": $RELAY_MAX},
  "auth": {"realm": "$REALM", "static_users": {"$BENCH_USER": "$BENCH_PASS"}},
  "allocation": {"max_total": 20000, "max_per_user": 20000},
  "peers": {"allow": ["127.0.0.0/8"]},
  "limits": {"max_connections": 0, "max_connections_per_ip": 0,
             "max_bandwidth_per_allocation": 0, "unauthenticated_requests_per_second": 0},
  "log": {"level": "info"}
}
EOF
  local cmd=("${SRV_PIN[@]}" "$DAEMON" --config "$TMP/turnpike.json")
  record "${cmd[*]} &   # turnpike.json: above"
  "${cmd[@]}" >>"$TMP/turnpiked.log" 2>&1 &
  SRV_PID=$!
  LIVE[$SRV_PID]=turnpiked
  if ! wait_ready turnpiked "$SRV_PID" "$TP_PORT" "$TP_PORT" "$TP_TLS"; then
    tail -n 20 "$TMP/turnpiked.log" >&2 || true
    die "turnpiked did not start"
  fi
}

start_coturn() {
  : >"$TMP/coturn-empty.conf" # keeps /etc/turnserver.conf out of it
  local cmd=("${SRV_PIN[@]}" "$TURNSERVER" -c "$TMP/coturn-empty.conf"
    --listening-ip "$HOST" --relay-ip "$HOST" --listening-port "$CT_PORT"
    --tls-listening-port "$CT_TLS" --min-port "$RELAY_MIN" --max-port "$RELAY_MAX"
    --realm "$REALM" --lt-cred-mech --user "$BENCH_USER:$BENCH_PASS"
    --user-quota 0 --total-quota 0 --relay-threads 1
    --allow-loopback-peers --no-cli --no-dtls --cert "$TMP/cert.pem" --pkey "$TMP/key.pem"
    --log-file "$TMP/coturn.log" --simple-log --no-stdout-log
    --pidfile "$TMP/coturn.pid" --userdb "$TMP/coturn.sqlite")
  record "${cmd[*]} &"
  "${cmd[@]}" >>"$TMP/coturn.stdout" 2>&1 &
  SRV_PID=$!
  LIVE[$SRV_PID]=turnserver
  if ! wait_ready turnserver "$SRV_PID" "$CT_PORT" "$CT_PORT" "$CT_TLS"; then
    tail -n 30 "$TMP/coturn.log" "$TMP/coturn.stdout" >&2 2>/dev/null || true
    die "coturn's turnserver did not start: no comparison, no numbers"
  fi
}

start_raw() {
  local cmd=("${SRV_PIN[@]}" "$RAW" --listen "$HOST:$RAW_PORT" --peer "$HOST:$PEER_PORT"
    --seconds 900 --max-clients 20000)
  record "${cmd[*]} &"
  "${cmd[@]}" >>"$TMP/raw.log" 2>&1 &
  SRV_PID=$!
  LIVE[$SRV_PID]=raw_forwarder
  wait_ready raw_forwarder "$SRV_PID" "$RAW_PORT" || die "raw_forwarder did not start"
}

start_server() {
  case $1 in
    turnpike) start_turnpike ;;
    coturn) start_coturn ;;
    raw) start_raw ;;
  esac
}
stop_server() {
  [[ -n $SRV_PID ]] && stop_pid "$SRV_PID"
  SRV_PID=
}
server_alive() { [[ -n $SRV_PID ]] && running "$SRV_PID"; }

# TARGET: the `turnpike load` arguments that reach SERVER over TRANSPORT.
TARGET=()
set_target() {
  local server=$1 transport=$2
  case $server in
    turnpike) TARGET=("$HOST:$TP_PORT") ;;
    coturn) TARGET=("$HOST:$CT_PORT") ;;
    raw) TARGET=("$HOST:$RAW_PORT" --raw) ;;
  esac
  if [[ $transport == tls ]]; then
    [[ $server == turnpike ]] && TARGET=("$HOST:$TP_TLS")
    [[ $server == coturn ]] && TARGET=("$HOST:$CT_TLS")
    TARGET+=(--transport tls --insecure)
  fi
  [[ $server == raw ]] || TARGET+=(--user "$BENCH_USER" --password "$BENCH_PASS")
  TARGET+=(--peer "$HOST:$PEER_PORT")
}

# measure LABEL LOAD-ARGS...: one `turnpike load` run (on core 1) with the server's and peer's
# CPU time around it, and the whole machine's. Sets M_JSON, M_WALL, M_SRV_CPU, M_PEER_CPU,
# M_ALL_CPU (every CPU's busy time: what is not ours is other processes' noise).
M_JSON='' M_WALL='' M_SRV_CPU='' M_PEER_CPU='' M_ALL_CPU=''
measure() {
  local label=$1 c0 p0 a0 t0 c1 p1 a1 t1
  shift
  local cmd=("${GEN_PIN[@]}" "$CLI" load "$@" --json --no-progress)
  record "${cmd[*]}"
  M_JSON=$TMP/$label.json
  sleep "$PAUSE_S"
  c0=$(cpu_ticks "$SRV_PID")
  p0=$(cpu_ticks "$PEER_PID")
  a0=$(busy_ticks)
  t0=$(now)
  "${cmd[@]}" >"$M_JSON" 2>"$TMP/$label.err" || true # exit 1 on loss: judged from the JSON
  t1=$(now)
  c1=$(cpu_ticks "$SRV_PID")
  p1=$(cpu_ticks "$PEER_PID")
  a1=$(busy_ticks)
  M_WALL=$(calc "$t1 - $t0")
  M_SRV_CPU=$(calc "($c1 - $c0) / $CLK_TCK")
  M_PEER_CPU=$(calc "($p1 - $p0) / $CLK_TCK")
  M_ALL_CPU=$(calc "($a1 - $a0) / $CLK_TCK")
}

declare -A R=()   # results: R[server,figure]
FAILURES=()       # what did not work
DIAG=()           # Markdown rows: CPU use per run
fail() {
  FAILURES+=("$1")
  log "FAILED: $1"
}

# diag LABEL: one row of CPU use for the last measure (server, generator, peer, other processes)
# and a verdict. Percentages are of one core over the run's wall time.
diag() {
  local label=$1 user sys elapsed srv gen peer other note="" v
  mapfile -t v < <(jget "$M_JSON" cpu_s.user cpu_s.system elapsed_s)
  user=${v[0]:-0} sys=${v[1]:-0} elapsed=${v[2]:-0}
  srv=$(calc "100 * $M_SRV_CPU / $M_WALL")
  gen=$(calc "($elapsed > 0) ? 100 * ($user + $sys) / $elapsed : 0")
  peer=$(calc "100 * $M_PEER_CPU / $M_WALL")
  other=$(calc "100 * ($M_ALL_CPU - $M_SRV_CPU - $M_PEER_CPU - $user - $sys) / $M_WALL")
  other=$(calc "($other < 0) ? 0 : $other")
  if awk -v g="$gen" -v p="$peer" -v s="$srv" 'BEGIN { exit !(g >= 95 || g + p >= 95) || !(s < 95) }'; then
    note="core 1 saturated (generator $(fmt0 "$gen") % + peer $(fmt0 "$peer") %) while the server used $(fmt0 "$srv") %: generator-bound"
    log "$label: $note"
  fi
  if awk -v o="$other" 'BEGIN { exit !(o >= 15) }'; then
    note="${note:+$note; }other processes used $(fmt0 "$other") % of a core: noisy"
    log "$label: other processes used $(fmt0 "$other") % of a core during the run"
  fi
  DIAG+=("| $label | $(fmt0 "$srv") % | $(fmt0 "$gen") % | $(fmt0 "$peer") % | $(fmt0 "$other") % | $note |")
}

# flood SERVER TRANSPORT SIZE: relayed packets/s and per server CPU-second.
flood() {
  local server=$1 transport=$2 size=$3 key="$2$3" ready received recv_s v
  set_target "$server" "$transport"
  log "$server: flood $transport ${size} B, $ALLOCS allocations, ${FLOOD_S} s"
  measure "$server-flood-$key" "${TARGET[@]}" --allocations "$ALLOCS" --packets 0 --flood \
    --window "$WINDOW" --size "$size" --duration "$FLOOD_S"
  mapfile -t v < <(jget "$M_JSON" allocations_ready received recv_elapsed_s loss_pct)
  ready=${v[0]:-0} received=${v[1]:-0} recv_s=${v[2]:-0}
  if [[ $ready != "$ALLOCS" ]] || ((received == 0)) || ! server_alive; then
    fail "$server flood $transport $size B: ready $ready/$ALLOCS, received $received ($(tail -c 300 "$M_JSON" "$TMP/$server-flood-$key.err" | tr '\n' ' '))"
    return
  fi
  R[$server,${key}_pps]=$(calc "2 * $received / $recv_s")
  R[$server,${key}_cpu]=$(calc "($M_SRV_CPU > 0) ? 2 * $received / $M_SRV_CPU : 0")
  R[$server,${key}_loss]=${v[3]}
  ONE_WAY[$server]=${ONE_WAY[$server]:-$(calc "$received / $recv_s")}
  log "$server: flood $transport ${size} B: $(fmt0 "${R[$server,${key}_pps]}") relayed pkt/s, $(fmt0 "${R[$server,${key}_cpu]}") per CPU-s (loss ${v[3]} %)"
  diag "$server flood $transport $size B"
}
declare -A ONE_WAY=() # first flood's echo rate: where the loss-free search starts

# paced SERVER TOTAL_PPS: one step of the search. Sets P_PASS (1/0), P_RELAYED, P_NOTE.
P_PASS=0 P_RELAYED=0 P_NOTE=''
paced() { # SERVER TOTAL_PPS [TRANSPORT]
  local server=$1 total=$2 transport=${3:-udp} per packets ready sent received loss send_pps recv_s v
  per=$(awk -v t="$total" -v n="$ALLOCS" 'BEGIN { printf "%.6g", t / n }')
  packets=$(awk -v p="$per" -v s="$STEP_S" 'BEGIN { printf "%d", p * s + 0.5 }')
  set_target "$server" "$transport"
  measure "$server-paced-$transport-$total" "${TARGET[@]}" --allocations "$ALLOCS" --packets "$packets" \
    --rate "$per" --size 100 --duration $((STEP_S + 3))
  mapfile -t v < <(jget "$M_JSON" allocations_ready sent received loss_pct send_pps recv_elapsed_s)
  ready=${v[0]:-0} sent=${v[1]:-0} received=${v[2]:-0} loss=${v[3]:-100} send_pps=${v[4]:-0}
  recv_s=${v[5]:-0}
  P_LOSS=$loss
  P_PACED=1
  P_NOTE=
  P_PASS=0
  P_RELAYED=0
  if [[ $ready != "$ALLOCS" ]] || ((sent == 0)); then
    P_NOTE="setup failed"
  elif awk -v a="$send_pps" -v t="$total" 'BEGIN { exit !(a < 0.95 * t) }'; then
    P_PACED=0
    P_NOTE="generator paced only $(fmt0 "$send_pps") pkt/s"
  elif awk -v l="$loss" 'BEGIN { exit !(l < 0.1) }'; then
    P_PASS=1
    P_RELAYED=$(calc "2 * $received / $recv_s")
  else
    P_NOTE="loss $(fmt "$loss" 2) %"
  fi
  log "$server: paced $transport $total pkt/s offered: $([[ $P_PASS == 1 ]] && echo "ok, loss $(fmt "$loss" 2) %" || echo "no: $P_NOTE")"
  diag "$server paced $transport $total pkt/s"
}

# tls_loss_point: the lowest paced TLS rate (16 allocations, 100 B) at which coturn loses
# >= 0.1 %, then turnpike at exactly that rate: "0 loss where coturn loses".
tls_loss_point() {
  local rate found=
  log "==== TLS at coturn's loss point ===="
  start_server coturn
  for rate in $TLS_LADDER; do
    paced coturn "$rate" tls
    [[ $P_PACED == 1 ]] || break  # the generator cannot offer more
    if [[ $P_PASS == 0 && $P_NOTE != loss* ]]; then
      fail "coturn: paced TLS $rate pkt/s: $P_NOTE"
      break
    fi
    if [[ $P_PASS == 0 ]]; then
      found=$rate
      break
    fi
  done
  R[coturn,tls_lossp]=${P_LOSS:-}
  stop_server
  if [[ -z $found ]]; then
    TLS_LOSS_NOTE="coturn lost < 0.1 % at every rate tried ($TLS_LADDER pkt/s offered)"
    unset 'R[coturn,tls_lossp]'
    log "$TLS_LOSS_NOTE"
    return
  fi
  start_server turnpike
  paced turnpike "$found" tls
  R[turnpike,tls_lossp]=$P_LOSS
  stop_server
  TLS_LOSS_RATE=$found
  TLS_LOSS_NOTE="coturn's first rate with >= 0.1 % loss on the ladder $TLS_LADDER pkt/s: $found pkt/s offered (coturn loss $(fmt "${R[coturn,tls_lossp]}" 3) %, turnpike loss $(fmt "${R[turnpike,tls_lossp]}" 3) %)"
  log "$TLS_LOSS_NOTE"
}

# search SERVER: the highest offered rate (16 allocations, 100 B, UDP) with < 0.1 % loss, starting
# at half the flood echo rate: up x1.5 while it passes, then bisection; SEARCH_STEPS steps.
search() {
  local server=$1 rate lo=0 hi=0 best=0 best_offered=0 note="" i
  rate=$(awk -v r="${ONE_WAY[$server]:-20000}" 'BEGIN { printf "%d", int(r / 2 / 100 + 0.5) * 100 }')
  for ((i = 0; i < SEARCH_STEPS; i++)); do
    ((rate >= 100)) || break
    paced "$server" "$rate"
    if [[ $P_PASS == 1 ]]; then
      lo=$rate
      if awk -v a="$P_RELAYED" -v b="$best" 'BEGIN { exit !(a > b) }'; then
        best=$P_RELAYED best_offered=$rate
      fi
    else
      hi=$rate
      note=$P_NOTE
    fi
    if ((hi == 0)); then
      rate=$(awk -v r="$rate" 'BEGIN { printf "%d", int(r * 1.5 / 100 + 0.5) * 100 }')
    else
      rate=$(awk -v l="$lo" -v h="$hi" 'BEGIN { printf "%d", int((l + h) / 2 / 100 + 0.5) * 100 }')
      ((rate != lo && rate != hi)) || break
    fi
  done
  if [[ $best == 0 ]]; then
    fail "$server: no paced rate met < 0.1 % loss ($note)"
    return
  fi
  R[$server,maxrate]=$best
  R[$server,maxrate_note]="offered $best_offered pkt/s; next step up: ${note:-not reached}"
  log "$server: highest rate with < 0.1 % loss: $(fmt0 "$best") relayed pkt/s (${R[$server,maxrate_note]})"
}

# allocs SERVER: ALLOC_N allocations, SETUP_CONCURRENCY at a time.
allocs() {
  local server=$1 n rate v
  set_target "$server" udp
  log "$server: $ALLOC_N allocations, $SETUP_CONCURRENCY in setup at a time"
  measure "$server-allocs" "${TARGET[@]}" --allocations "$ALLOC_N" --packets 1 --rate 1000 \
    --setup-concurrency "$SETUP_CONCURRENCY" --duration 60
  mapfile -t v < <(jget "$M_JSON" allocations allocations_per_s allocations_ready first_error)
  n=${v[0]:-0} rate=${v[1]:-0}
  if [[ $n != "$ALLOC_N" ]] || ! server_alive; then
    fail "$server allocations: $n/$ALLOC_N allocated (${v[3]:-})"
    return
  fi
  R[$server,alloc_rate]=$rate
  R[$server,alloc_cpu]=$(calc "($M_SRV_CPU > 0) ? $n / $M_SRV_CPU : 0")
  log "$server: $(fmt0 "$rate") allocations/s, $(fmt0 "${R[$server,alloc_cpu]}") per CPU-s"
  diag "$server $ALLOC_N allocations"
}

# rss SERVER: a fresh server, its VmRSS before and while RSS_N allocations are held.
rss() {
  local server=$1 before after held="" i pid label="$1-hold" cmd
  start_server "$server"
  sleep "$PAUSE_S"
  before=$(rss_kib "$SRV_PID")
  set_target "$server" udp
  log "$server: holding $RSS_N allocations (RSS before: $before KiB)"
  cmd=("${GEN_PIN[@]}" "$CLI" load "${TARGET[@]}" --allocations "$RSS_N" --packets 1 --rate 1000
    --setup-concurrency "$SETUP_CONCURRENCY" --hold "$HOLD_S" --duration 90 --json --no-progress)
  record "${cmd[*]}"
  : >"$TMP/$label.err"
  "${cmd[@]}" >"$TMP/$label.json" 2>>"$TMP/$label.err" &
  pid=$!
  LIVE[$pid]=load
  for ((i = 0; i < 1200; i++)); do
    held=$(sed -n 's/^turnpike load: holding \([0-9]*\) allocations.*/\1/p' "$TMP/$label.err" || true)
    [[ -n $held ]] && break
    running "$pid" || break
    sleep 0.1
  done
  if [[ -n $held ]] && server_alive; then
    sleep 0.5
    after=$(rss_kib "$SRV_PID")
  fi
  wait "$pid" 2>/dev/null || true
  unset "LIVE[$pid]"
  stop_server
  if [[ -z $held || -z ${after:-} ]] || ((held == 0)); then
    fail "$server: could not hold allocations ($(tail -c 300 "$TMP/$label.json" | tr '\n' ' '))"
    return
  fi
  R[$server,rss]=$(calc "($after - $before) * 1024 / $held")
  R[$server,rss_held]=$held
  R[$server,rss_mib]="$(fmt "$(calc "$before / 1024")" 1) -> $(fmt "$(calc "$after / 1024")" 1) MiB"
  log "$server: RSS $before -> $after KiB with $held held: $(fmt0 "${R[$server,rss]}") B each"
}

# rtt SERVER: RTT percentiles at a moderate fixed rate. The tail on a shared 2-core VM moves by
# hundreds of microseconds from run to run (the raw forwarder's too), so RTT_RUNS runs are made
# and the median of each percentile is reported (all of them are logged).
rtt() {
  local server=$1 v i
  local -a p50s=() p99s=()
  set_target "$server" udp
  log "$server: RTT at $ALLOCS x 100 pkt/s, 100 B, ${RTT_S} s, $RTT_RUNS runs"
  for ((i = 1; i <= RTT_RUNS; i++)); do
    measure "$server-rtt-$i" "${TARGET[@]}" --allocations "$ALLOCS" --packets $((100 * RTT_S)) \
      --rate 100 --size 100 --duration $((RTT_S + 5))
    mapfile -t v < <(jget "$M_JSON" rtt_us.p50 rtt_us.p99 received loss)
    if [[ -z ${v[0]:-} || ${v[2]:-0} == 0 ]]; then
      fail "$server: RTT run got no echoes"
      return
    fi
    p50s+=("${v[0]}")
    p99s+=("${v[1]}")
    log "$server: RTT run $i: p50 ${v[0]} us, p99 ${v[1]} us (loss ${v[3]})"
  done
  R[$server,rtt50]=$(printf '%s\n' "${p50s[@]}" | sort -n | awk '{a[NR] = $1} END { print a[int((NR + 1) / 2)] }')
  R[$server,rtt99]=$(printf '%s\n' "${p99s[@]}" | sort -n | awk '{a[NR] = $1} END { print a[int((NR + 1) / 2)] }')
  R[$server,rtt_runs]="p99 of each run: ${p99s[*]} us"
  log "$server: RTT median of $RTT_RUNS runs: p50 ${R[$server,rtt50]} us, p99 ${R[$server,rtt99]} us"
}

bench_server() {
  local server=$1
  log "==== $server ===="
  start_server "$server"
  rtt "$server"
  diag "$server RTT"
  flood "$server" udp 100
  flood "$server" udp 1000
  if [[ $server != raw ]]; then
    flood "$server" tls 100
    flood "$server" tls 1000
  fi
  search "$server"
  # Last: thousands of client sockets come and go, and a new socket that reuses the port of one
  # whose allocation a server is still tearing down gets 437 (coturn keeps it for ~1 s).
  [[ $server == raw ]] || allocs "$server"
  server_alive || fail "$server exited during the run"
  stop_server
  # Last, with a fresh server: closing 10,000 sockets keeps the kernel busy for a few seconds, and
  # the RTT runs that followed this step used to carry that in their tail.
  rss "$server"
  sleep "$SETTLE_S"  # let that cleanup finish before the next server's RTT runs
}

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
START_S=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
start_peer
for server in turnpike coturn raw; do
  bench_server "$server"
done
tls_loss_point
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
RUN_S=$(($(date +%s) - START_S))

# ---- report ----
cell() { # SERVER FIGURE [DECIMALS]
  local v=${R[$1,$2]:-}
  if [[ -z $v ]]; then
    echo "n/a"
  else
    awk -v v="$v" -v d="${3:-0}" 'BEGIN { printf "%.*f", d, v }'
  fi
}
ratio() { # FIGURE SERVER: turnpike / SERVER
  local a=${R[turnpike,$1]:-} b=${R[$2,$1]:-}
  if [[ -z $a || -z $b ]] || awk -v b="$b" 'BEGIN { exit !(b == 0) }'; then
    echo "n/a"
  else
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }'
  fi
}
row() { # TITLE FIGURE [DECIMALS]
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(cell turnpike "$2" "${3:-0}")" \
    "$(cell coturn "$2" "${3:-0}")" "$(cell raw "$2" "${3:-0}")" "$(ratio "$2" coturn)" \
    "$(ratio "$2" raw)"
}
TABLE=$(
  echo "| figure | turnpike | coturn | raw forwarder | turnpike/coturn | turnpike/raw |"
  echo "|---|---:|---:|---:|---:|---:|"
  row "UDP 100 B flood: relayed pkt/s" udp100_pps
  row "UDP 100 B flood: relayed pkt per server CPU-s" udp100_cpu
  row "UDP 100 B flood: loss %" udp100_loss 3
  row "UDP 1000 B flood: relayed pkt/s" udp1000_pps
  row "UDP 1000 B flood: relayed pkt per server CPU-s" udp1000_cpu
  row "UDP 1000 B flood: loss %" udp1000_loss 3
  row "TLS 100 B flood: relayed pkt/s" tls100_pps
  row "TLS 100 B flood: relayed pkt per server CPU-s" tls100_cpu
  row "TLS 100 B flood: loss %" tls100_loss 3
  row "TLS 1000 B flood: relayed pkt/s" tls1000_pps
  row "TLS 1000 B flood: relayed pkt per server CPU-s" tls1000_cpu
  row "TLS 1000 B flood: loss %" tls1000_loss 3
  row "TLS 100 B paced at coturn's loss point (${TLS_LOSS_RATE:-n/a} pkt/s offered): loss %" tls_lossp 3
  row "max relayed pkt/s with < 0.1 % loss (UDP 100 B, paced)" maxrate
  row "allocations/s ($ALLOC_N, $SETUP_CONCURRENCY at a time)" alloc_rate
  row "allocations per server CPU-s" alloc_cpu
  row "RSS per held allocation, bytes ($RSS_N held; raw: per client)" rss
  row "RTT p50, us ($ALLOCS x 100 pkt/s, 100 B)" rtt50
  row "RTT p99, us" rtt99
)
echo
echo "$TABLE"
echo
for s in turnpike coturn raw; do
  [[ -n ${R[$s,maxrate_note]:-} ]] && echo "max rate, $s: ${R[$s,maxrate_note]}"
  [[ -n ${R[$s,rss_mib]:-} ]] && echo "RSS, $s: ${R[$s,rss_mib]} with ${R[$s,rss_held]} held"
done
GEN_NOTES=$(printf '%s\n' "${DIAG[@]}" | grep -c 'generator-bound' || true)
NOISY=$(printf '%s\n' "${DIAG[@]}" | grep -c 'noisy' || true)
echo "runs where core 1 (generator + peer) was the limit: $GEN_NOTES of ${#DIAG[@]}"
echo "runs disturbed by other processes (>= 15 % of a core): $NOISY of ${#DIAG[@]}"

if ((${#FAILURES[@]} > 0)); then
  log "${#FAILURES[@]} step(s) failed; $OUTPUT not written:"
  printf '  - %s\n' "${FAILURES[@]}" >&2
  exit 1
fi

MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
COTURN_VERSION="$("$TURNSERVER" --version 2>/dev/null | head -n 1) (package $(dpkg-query -W -f '${Version}' coturn 2>/dev/null || echo unknown))"
DESCRIBE=$(git -C "$ROOT" describe --always --dirty --tags 2>/dev/null || echo unknown)
MODE="full"
[[ $QUICK == 1 ]] && MODE="quick (BENCH_QUICK=1: short steps, numbers are rough)"
{
  cat <<EOF
# Benchmarks

Generated by \`scripts/bench.sh\` — do not edit by hand; re-run it (on an idle machine) instead.
Loopback only: what is measured is CPU cost per packet and per allocation, not a network.

| | |
|---|---|
| date | $START (run took ${RUN_S} s, $MODE) |
| machine | ${MODEL:-unknown}, $NCPU CPU(s), kernel $(uname -r) |
| load average (1/5/15 min) | before: $LOAD_BEFORE; after: $LOAD_AFTER |
| turnpike | \`$DESCRIBE\` ($BUILD_TYPE build) |
| coturn | $COTURN_VERSION |
| cores | $CORES |

## Results

$TABLE

Ratios are turnpike ÷ the other server: above 1 means turnpike's figure is higher (better for
rates and per-CPU figures, worse for RSS and RTT).

- **Relayed packets** count both directions: 2 × the echoes the generator got back (each echoed
  packet crossed the server once towards the peer and once back). Rates are over the generator's
  sending time (first send to last echo).
- **Server CPU** is utime + stime of the server process, all threads, from \`/proc/PID/stat\`
  before and after each \`turnpike load\` run (setup and teardown included: a few allocations,
  negligible next to the flood).
- **Flood**: $ALLOCS allocations, \`--flood --window $WINDOW\` (at most $WINDOW packets in flight per
  allocation), ${FLOOD_S} s per run. TLS is TURN over TLS with the same ChannelData (client and
  server negotiate the version; \`--insecure\`: self-signed certificate); the raw forwarder has no
  TLS.
- **Max rate with < 0.1 % loss**: paced \`--rate\` runs of ${STEP_S} s ($ALLOCS allocations, 100 B,
  UDP), starting at half the flood echo rate, up ×1.5 while loss < 0.1 %, then bisection
  ($SEARCH_STEPS steps at most). A step also fails when the generator could not pace the
  offered rate (then the limit is core 1, not the server).
EOF
  for s in turnpike coturn raw; do
    [[ -n ${R[$s,maxrate_note]:-} ]] && echo "  $s: ${R[$s,maxrate_note]}."
  done
  cat <<EOF
- **Allocations**: $ALLOC_N allocations over UDP, $SETUP_CONCURRENCY being set up at a time
  (\`--setup-concurrency\`), each with the 401 challenge, Allocate, CreatePermission and
  ChannelBind; allocations/s is \`turnpike load\`'s \`allocations_per_s\` (allocations ÷ time to
  the last successful Allocate). Per CPU-second covers each allocation's whole life (also one
  packet each way and the Refresh with lifetime 0).
- **RSS per held allocation**: VmRSS of a freshly started server before the run, and while
  \`turnpike load --hold $HOLD_S\` keeps its allocations open and idle; (after − before) ÷ held.
  The raw forwarder's is per client (a socket and a hash-map entry): the floor.
EOF
  for s in turnpike coturn raw; do
    [[ -n ${R[$s,rss_mib]:-} ]] && echo "  $s: ${R[$s,rss_mib]} with ${R[$s,rss_held]} held."
  done
  cat <<EOF
- **TLS at coturn's loss point**: paced TLS runs of ${STEP_S} s ($ALLOCS allocations, 100 B) up
  the ladder until coturn loses >= 0.1 %; turnpike is then run at that rate. ${TLS_LOSS_NOTE:-}.
- **RTT**: $ALLOCS allocations × 100 packets/s, 100 B, ${RTT_S} s; round trip generator → server →
  peer → server → generator. The raw forwarder's RTT is the floor of this setup. The tail moves by
  hundreds of microseconds between runs on this VM, so each server gets $RTT_RUNS runs and the
  table shows the median p50 and median p99.
  turnpike: ${R[turnpike,rtt_runs]:-n/a}.
  coturn: ${R[coturn,rtt_runs]:-n/a}.
  raw: ${R[raw,rtt_runs]:-n/a}.

## CPU use per run

Server: its CPU-seconds ÷ wall time of the run. Generator: \`turnpike load\`'s own CPU
(getrusage) ÷ its run time. Peer: \`turnpike peer\`, like the server. Other: every CPU's busy time
(\`/proc/stat\`) minus those three, i.e. other processes (and kernel work not charged to them).
Generator and peer share core 1: when together they reach ~100 % while the server stays below
95 %, the figure measures the generator, not the server (flagged "generator-bound"); runs where
other processes took 15 % of a core or more are flagged "noisy" ($GEN_NOTES generator-bound and
$NOISY noisy of ${#DIAG[@]} runs).

| run | server | generator | peer | other | note |
|---|---:|---:|---:|---:|---|
EOF
  printf '%s\n' "${DIAG[@]}"
  cat <<EOF

## Configuration and commands

turnpiked (\`turnpike.json\`; one worker, default logging):

\`\`\`json
$(sed "s|$TMP|\$TMP|g" "$TMP/turnpike.json")
\`\`\`

Every command, in order (\`\$TMP\` is the scratch directory with the self-signed certificate):

<details><summary>$(wc -l <"$TMP/commands.txt") commands</summary>

\`\`\`sh
$(sed -e "s|$TMP|\$TMP|g" -e "s|$ROOT/||g" "$TMP/commands.txt")
\`\`\`

</details>
EOF
} >"$OUTPUT"
log "wrote $OUTPUT (${RUN_S} s)"
