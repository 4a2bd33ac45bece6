#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
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
# The steps and helpers are in scripts/bench/ (sourced below): common.sh (logging, processes,
# results), cpu.sh (CPU/RSS accounting, measure, diag), servers.sh, flood.sh, search.sh, tls.sh,
# allocs.sh, rss.sh, rtt.sh, report.sh (the table and docs/benchmarks.md).
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

BENCH_LIB=$ROOT/scripts/bench
# shellcheck source=bench/common.sh
source "$BENCH_LIB/common.sh"
# shellcheck source=bench/cpu.sh
source "$BENCH_LIB/cpu.sh"
# shellcheck source=bench/servers.sh
source "$BENCH_LIB/servers.sh"
# shellcheck source=bench/flood.sh
source "$BENCH_LIB/flood.sh"
# shellcheck source=bench/search.sh
source "$BENCH_LIB/search.sh"
# shellcheck source=bench/tls.sh
source "$BENCH_LIB/tls.sh"
# shellcheck source=bench/allocs.sh
source "$BENCH_LIB/allocs.sh"
# shellcheck source=bench/rss.sh
source "$BENCH_LIB/rss.sh"
# shellcheck source=bench/rtt.sh
source "$BENCH_LIB/rtt.sh"
# shellcheck source=bench/report.sh
source "$BENCH_LIB/report.sh"

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
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
: >"$TMP/commands.txt"

# ---- processes ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
  die "openssl could not make the test certificate"

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

print_summary

if ((${#FAILURES[@]} > 0)); then
  log "${#FAILURES[@]} step(s) failed; $OUTPUT not written:"
  printf '  - %s\n' "${FAILURES[@]}" >&2
  exit 1
fi

write_report
log "wrote $OUTPUT (${RUN_S} s)"
