# shellcheck shell=bash
# scripts/bench.sh helpers: logging, the processes started here (LIVE, stop_pid, the EXIT trap's
# cleanup), the command record, arithmetic and formatting, JSON fields, and the results
# (R, FAILURES). Sourced by scripts/bench.sh; uses its TMP.

log() { printf '%s\n' "bench: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

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

record() { printf '%s\n' "$*" >>"$TMP/commands.txt"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
fmt0() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.0f", v }'; }
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; } # VALUE DECIMALS
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

declare -A R=()   # results: R[server,figure]
FAILURES=()       # what did not work
DIAG=()           # Markdown rows: CPU use per run
fail() {
  FAILURES+=("$1")
  log "FAILED: $1"
}
