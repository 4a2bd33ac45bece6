#!/usr/bin/env bash
# turnpike client-matrix end-to-end tests: aiortc (Python WebRTC) and headless Chromium relayed
# by turnpiked, relay only, with ICE servers fetched from the daemon's HTTPS /turn-credentials.
#
# Pairs (--pair, repeatable; default: all, one daemon for all of them):
#   aiortc-udp       aiortc <-> aiortc, only turn:H:P?transport=udp     (aiortc_pair.py)
#   aiortc-tcp       aiortc <-> aiortc, only turn:H:P?transport=tcp     (aiortc_pair.py)
#   aiortc-tls       aiortc <-> aiortc, only turns:H:P?transport=tcp    (aiortc_pair.py)
#   chromium-aiortc  headless Chromium (fake camera 640x480@30) publishes video WHIP-style into
#                    an aiortc receiver that decodes it; both only turns:H:P?transport=tcp
#                    (chromium_whip.py + chromium_whip.mjs)
# Each pair prints its setup time and the frames / audio packets received, and passes only when
# the selected ICE pairs are relay <-> relay over the expected TURN transport. The daemon must
# exit 0 on SIGTERM afterwards.
#
# The daemon gets UDP + TCP + TLS listeners on one loopback address, a `credentials` section with
# an API key and hosts = [that address], and a throwaway CA/server certificate (common.sh). The
# TLS listener is on port 443 when the chromium-aiortc pair runs as root and 443 is free on one
# of 127.0.0.1-127.0.0.5 (as in run_browser_e2e.sh), otherwise on a port of the locked block.
#
# Usage: tests/e2e/aiortc/run_matrix.sh [--daemon PATH/TO/turnpiked] [--pair NAME]... [--keep]
# Environment: TURNPIKED (daemon path), TURNPIKE_E2E_PYTHON (the Python 3 to use; default: the
# first of /usr/bin/python3 (Debian's python3-aiortc), python3 that imports aiortc, aioice, av
# and numpy), TURNPIKE_E2E_VERBOSE=1 (aiortc/aioice debug logs), TURNPIKE_E2E_REQUIRE=1
# (missing prerequisites fail instead of skipping), TURNPIKE_E2E_LOG_LEVEL (daemon log level).
# Exit: 0 pass, 1 fail, 2 usage, 77 skipped (prerequisite missing: python3-aiortc/python3-av, or
# for chromium-aiortc the browser stack of scripts/deps.sh).
set -uo pipefail
E2E_NAME=aiortc_matrix
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../common.sh"
SECONDS=0

ALL_PAIRS=(aiortc-udp aiortc-tcp aiortc-tls chromium-aiortc)
PAIR_LIMIT_S=85  # hard limit per pair (each ctest entry runs one pair)

E2E_DAEMON_SRC="${TURNPIKED:-$REPO_ROOT/build/src/turnpiked}"
E2E_KEEP=0
pairs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --daemon) E2E_DAEMON_SRC="${2:?--daemon needs a path}"; shift 2 ;;
    --pair) pairs+=("${2:?--pair needs a name}"); shift 2 ;;
    --keep) E2E_KEEP=1; shift ;;
    -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) e2e_log "unknown argument: $1"; exit 2 ;;
  esac
done
[ "${#pairs[@]}" -gt 0 ] || pairs=("${ALL_PAIRS[@]}")
want_chromium=0
for p in "${pairs[@]}"; do
  case " ${ALL_PAIRS[*]} " in *" $p "*) ;; *) e2e_log "unknown pair $p (one of ${ALL_PAIRS[*]})"; exit 2 ;; esac
  [ "$p" = chromium-aiortc ] && want_chromium=1
done
[ "${#pairs[@]}" -eq 1 ] && E2E_NAME="${pairs[0]}"

# ---- prerequisites ------------------------------------------------------------------------
PY=""
for cand in ${TURNPIKE_E2E_PYTHON:-/usr/bin/python3 python3}; do
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import aiortc, aioice, av, numpy' >/dev/null 2>&1; then
    PY="$(command -v "$cand")"; break
  fi
done
[ -n "$PY" ] || e2e_missing "no Python 3 with aiortc, aioice, av and numpy (apt-get install python3-aiortc python3-av; scripts/deps.sh)"
command -v openssl >/dev/null 2>&1 || e2e_missing "openssl not found"
command -v flock >/dev/null 2>&1 || e2e_missing "flock not found (util-linux)"
if [ "$want_chromium" = 1 ]; then
  e2e_check_prereqs  # node, chromium, certutil, playwright-core
fi
e2e_log "python: $PY ($("$PY" -c 'import aiortc, aioice, av, sys; print(f"aiortc {aiortc.__version__}, aioice {aioice.__version__}, av {av.__version__}, Python {sys.version.split()[0]}")'))"

# common.sh checks free ports with node; the aiortc pairs must not need node: use Python.
e2e_port_free_udp() {
  "$PY" -c '
import socket, sys
addr, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for p in range(lo, hi + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((addr, p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
' "$1" "$2" "$3"
}
e2e_tcp_port_free() {
  "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
except OSError:
    sys.exit(1)
finally:
    s.close()
' "$1" "$2"
}

e2e_make_workdir
e2e_copy_daemon
e2e_reserve_ports

# ---- listeners ----------------------------------------------------------------------------
host=127.0.0.1
tls_port=$((E2E_PORT_BASE + 96))
if [ "$want_chromium" = 1 ] && [ "$(id -u)" -eq 0 ]; then
  for a in 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5; do
    if e2e_try_lock "tcp443-$a" && e2e_tcp_port_free "$a" 443; then host=$a; tls_port=443; break; fi
  done
  [ "$tls_port" = 443 ] || e2e_log "TCP 443 taken on 127.0.0.1-127.0.0.5: TLS listener on $host:$tls_port instead"
elif [ "$want_chromium" = 1 ]; then
  e2e_log "not root: TLS listener on $host:$tls_port instead of 443"
fi
e2e_tcp_port_free "$host" "$tls_port" || e2e_fail "TCP port $host:$tls_port is taken"
e2e_tcp_port_free "$host" "$E2E_TCP_PORT" || e2e_fail "TCP port $host:$E2E_TCP_PORT is taken"
WHIP_PORT=$((E2E_PORT_BASE + 90))  # chromium-aiortc: the WHIP server, origin of the publisher page
e2e_tcp_port_free 127.0.0.1 "$WHIP_PORT" || e2e_fail "TCP port 127.0.0.1:$WHIP_PORT (WHIP server) is taken"

e2e_make_certs "$E2E_WORK/certs" "$host"
API_KEY="matrix-e2e-key-$RANDOM$RANDOM$RANDOM"
API_LABEL="client-matrix"
cat > "$E2E_WORK/turnpike.json" <<EOF
{
  "listeners": [
    {"transport": "udp", "address": "$host", "port": $E2E_UDP_PORT},
    {"transport": "tcp", "address": "$host", "port": $E2E_TCP_PORT},
    {"transport": "tls", "address": "$host", "port": $tls_port}
  ],
  "tls": {"certificate": "$E2E_WORK/certs/server.pem", "private_key": "$E2E_WORK/certs/server.key",
          "handshake_timeout": 10},
  "relay": {"address": "127.0.0.1", "port_min": $E2E_RELAY_MIN, "port_max": $E2E_RELAY_MAX},
  "auth": {"realm": "$E2E_REALM", "rest_secrets": ["$E2E_REST_SECRET"]},
  "credentials": {
    "api_keys": [{"label": "$API_LABEL", "key": "$API_KEY"}],
    "hosts": ["$host"],
    "cors_origins": ["http://127.0.0.1:$WHIP_PORT"],
    "ttl": 3600,
    "rate_limit": {"per_ip_per_minute": 600, "per_key_per_minute": 600}
  },
  "peers": {"allow": ["127.0.0.0/8"]},
  "log": {"level": "${TURNPIKE_E2E_LOG_LEVEL:-info}"}
}
EOF

e2e_start_daemon "$E2E_WORK/turnpike.json"
case $? in
  0) ;;
  3) e2e_fail "turnpiked refused a listener transport (not supported by this build)" ;;
  *) e2e_fail "turnpiked did not start" ;;
esac
e2e_check_tls "$host" "$tls_port" "$E2E_WORK/certs/ca.pem" ||
  { e2e_print_daemon_log 40; e2e_fail "TLS handshake with turnpiked on $host:$tls_port failed"; }
CREDS_URL="https://$host:$tls_port/turn-credentials"
e2e_log "listeners udp/tcp $host:$E2E_UDP_PORT/$E2E_TCP_PORT, tls $host:$tls_port; relay 127.0.0.1:$E2E_RELAY_MIN-$E2E_RELAY_MAX; credentials $CREDS_URL"

# ---- pairs ---------------------------------------------------------------------------------
# Runs one command with a hard limit, in the background + wait so that our traps fire at once.
run_limited() {
  local limit="$1" rc=0; shift
  timeout -k 5 "$limit" "$@" &
  local pid=$!
  e2e_on_exit "e2e_stop_pid $pid"
  wait "$pid" || rc=$?
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && e2e_log "killed after $limit s"
  return "$rc"
}

declare -A pair_rc pair_summary
for p in "${pairs[@]}"; do
  e2e_log "==== pair $p ===="
  out="$E2E_WORK/$p.result.json"
  rc=0
  case "$p" in
    aiortc-*)
      run_limited "$PAIR_LIMIT_S" "$PY" -u "$HERE/aiortc_pair.py" --creds-url "$CREDS_URL" \
        --api-key "$API_KEY" --cafile "$E2E_WORK/certs/ca.pem" --transport "${p#aiortc-}" \
        --relay-range "$E2E_RELAY_MIN-$E2E_RELAY_MAX" --label "$p" --timeout $((PAIR_LIMIT_S - 10)) \
        --result-file "$out" ${TURNPIKE_E2E_VERBOSE:+--verbose} 2>&1 || rc=$?
      ;;
    chromium-aiortc)
      [ -d "$E2E_WORK/home" ] || e2e_make_home "$E2E_WORK/home" "$E2E_WORK/certs/ca.pem"
      mkdir -p "$E2E_WORK/profile"
      e2e_on_exit "e2e_kill_profile_procs '$E2E_WORK/profile'"
      run_limited "$PAIR_LIMIT_S" "$PY" -u "$HERE/chromium_whip.py" --creds-url "$CREDS_URL" \
        --api-key "$API_KEY" --cafile "$E2E_WORK/certs/ca.pem" --chromium "$CHROMIUM" \
        --home "$E2E_WORK/home" --profile "$E2E_WORK/profile" --whip-port "$WHIP_PORT" \
        --relay-range "$E2E_RELAY_MIN-$E2E_RELAY_MAX" --label "$p" --timeout $((PAIR_LIMIT_S - 10)) \
        --result-file "$out" ${TURNPIKE_E2E_VERBOSE:+--verbose} 2>&1 || rc=$?
      ;;
  esac
  pair_rc[$p]=$rc
  pair_summary[$p]="$(cat "$out" 2>/dev/null)"
  if ! kill -0 "$E2E_DAEMON_PID" 2>/dev/null; then
    e2e_log "turnpiked is gone after pair $p"
    break
  fi
done

daemon_ok=1
e2e_stop_daemon || daemon_ok=0

# ---- summary -------------------------------------------------------------------------------
fail=0 skipped=0
e2e_log "==== client matrix summary ===="
for p in "${pairs[@]}"; do
  rc="${pair_rc[$p]:-not run}"
  s="${pair_summary[$p]:-}"
  line="$("$PY" - "$s" <<'PYEOF'
import json, sys
try:
    r = json.loads(sys.argv[1])
except ValueError:
    print("no result"); sys.exit()
if "chromium_setup_ms" in r:
    parts = [f"setup Chromium {r.get('chromium_setup_ms')} ms / aiortc {r.get('aiortc_setup_ms')} ms"]
else:
    parts = [f"setup {r.get('setup_ms')} ms"]
if "video" in r:
    v = r["video"]
    parts.append(f"video {v.get('frames')} frames decoded in {v.get('seconds')} s = {v.get('fps')} fps "
                 f"({v.get('width')}x{v.get('height')} {v.get('codec')}), first frame {v.get('first_frame_ms')} ms")
for role, a in (r.get("audio") or {}).items():
    parts.append(f"{role} audio {a['frames']} frames/{a['rtp_packets']} RTP pkts ({a['fps']}/s)")
if r.get("dc_received"):
    parts.append(f"dc {r['dc_received']}")
print("; ".join(parts))
PYEOF
)"
  case "$rc" in
    0) status=PASS ;;
    77) status=SKIP; skipped=$((skipped + 1)) ;;
    *) status="FAIL($rc)"; fail=1 ;;
  esac
  e2e_log "$(printf '%-16s %-9s %s' "$p" "$status" "$line")"
done
if [ "$fail" -ne 0 ] || [ "$daemon_ok" -ne 1 ]; then
  e2e_print_daemon_log 80
  e2e_log "FAIL (daemon stopped cleanly: $([ "$daemon_ok" = 1 ] && echo yes || echo no)) after ${SECONDS} s"
  exit 1
fi
if [ "$skipped" -eq "${#pairs[@]}" ]; then e2e_skip "every pair skipped"; fi
e2e_log "PASS after ${SECONDS} s"
exit 0
