# shellcheck shell=bash disable=SC2034  # variables set here are used by the sourcing scripts
# Shared helpers for turnpike's end-to-end browser tests (sourced by run_browser_e2e.sh and
# run_netns_e2e.sh; bash only).
#
# - prerequisites: node + tests/e2e/node_modules/playwright-core, /usr/bin/chromium, certutil,
#   openssl (installed by scripts/deps.sh); missing ones skip the test (exit 77) with the reason,
#   or fail it when TURNPIKE_E2E_REQUIRE=1;
# - a work directory removed on exit, a private copy of the daemon binary (the build tree may be
#   rebuilt while the test runs);
# - UDP port blocks shared with tests/integration/turnpike_harness/net.py (flock on
#   $TMPDIR/turnpike-it-ports/block-<base>.lock, blocks of 100 ports in 20000-31999) so that
#   `ctest -j` never hands the same ports to two tests;
# - a throwaway CA + server certificate with IP SANs, trusted only in a temporary HOME's NSS
#   database (the one Chromium reads), never system-wide;
# - daemon config generation, start (waits for "turnpiked ready"), stop (SIGTERM, expects exit 0);
# - the HTTPS credential endpoint the pages fetch their ICE servers from (an API key, CORS for
#   the page's origin), checked with curl first, and its request counters from /metrics;
# - cleanup stack run by the EXIT trap.

E2E_SKIP=77
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
E2E_REALM="turnpike.test"
E2E_REST_SECRET="e2e-rest-secret-$RANDOM$RANDOM"
E2E_API_LABEL="e2e-web"
E2E_API_KEY="e2e-browser-api-key-$RANDOM$RANDOM$RANDOM"
# The origin of the test page (browser_relay.mjs serves it as http://localhost/turnpike-e2e/...):
# its fetch to https://<server>:443 is cross-origin, so the daemon must allow it (CORS).
E2E_PAGE_ORIGIN="http://localhost"
CHROMIUM="${TURNPIKE_E2E_CHROMIUM:-/usr/bin/chromium}"

e2e_log() { printf '[%s %s] %s\n' "${E2E_NAME:-e2e}" "$(date +%T)" "$*"; }
e2e_fail() { e2e_log "FAIL: $*"; exit 1; }
e2e_skip() {
  e2e_log "SKIP: $*"
  exit "$E2E_SKIP"
}
# A missing prerequisite: skip by default (ctest reports the test as skipped, with this reason),
# fail when TURNPIKE_E2E_REQUIRE=1 (CI, where scripts/deps.sh must have installed everything).
e2e_missing() {
  if [ "${TURNPIKE_E2E_REQUIRE:-0}" = 1 ]; then e2e_fail "$* (TURNPIKE_E2E_REQUIRE=1)"; fi
  e2e_skip "$*"
}

# ---- cleanup stack -------------------------------------------------------------------------
_e2e_cleanups=()
e2e_on_exit() { _e2e_cleanups+=("$*"); }
_e2e_run_cleanups() {
  local rc=$? i
  trap - EXIT INT TERM HUP
  [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || [ "$rc" -eq "$E2E_SKIP" ] || e2e_log "exit $rc: cleaning up"
  for ((i = ${#_e2e_cleanups[@]} - 1; i >= 0; i--)); do
    eval "${_e2e_cleanups[i]}" || true
  done
  exit "$rc"
}
trap _e2e_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- arguments and prerequisites ----------------------------------------------------------
# Usage: <script> [--daemon PATH] [--keep]
e2e_parse_args() {
  E2E_DAEMON_SRC="${TURNPIKED:-$REPO_ROOT/build/src/turnpiked}"
  E2E_KEEP=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --daemon) E2E_DAEMON_SRC="$2"; shift 2 ;;
      --keep) E2E_KEEP=1; shift ;;
      -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) e2e_log "unknown argument: $1"; exit 2 ;;
    esac
  done
}

e2e_check_prereqs() {
  command -v node >/dev/null 2>&1 || e2e_missing "node not found (scripts/deps.sh installs the browser test stack)"
  [ -x "$CHROMIUM" ] || e2e_missing "$CHROMIUM not found (apt-get install chromium; scripts/deps.sh)"
  command -v certutil >/dev/null 2>&1 || e2e_missing "certutil not found (apt-get install libnss3-tools)"
  command -v openssl >/dev/null 2>&1 || e2e_missing "openssl not found"
  command -v flock >/dev/null 2>&1 || e2e_missing "flock not found (util-linux)"
  command -v curl >/dev/null 2>&1 || e2e_missing "curl not found (apt-get install curl; scripts/deps.sh)"
  [ -f "$E2E_DIR/node_modules/playwright-core/package.json" ] ||
    e2e_missing "playwright-core not installed in tests/e2e/node_modules (run scripts/deps.sh, or: cd tests/e2e && npm ci)"
}

# Copies the daemon into the work directory; retries for a while because the build tree's binary
# is replaced from time to time by rebuilds.
e2e_copy_daemon() {
  local i
  for ((i = 0; i < 30; i++)); do
    if [ -x "$E2E_DAEMON_SRC" ] && cp "$E2E_DAEMON_SRC" "$E2E_WORK/turnpiked" 2>/dev/null; then
      E2E_DAEMON="$E2E_WORK/turnpiked"
      return 0
    fi
    sleep 1
  done
  e2e_fail "daemon binary $E2E_DAEMON_SRC not found (build turnpiked, or pass --daemon PATH)"
}

e2e_make_workdir() {
  E2E_WORK="$(mktemp -d "${TMPDIR:-/tmp}/turnpike-e2e-${E2E_NAME:-x}.XXXXXX")"
  if [ "$E2E_KEEP" = 1 ]; then
    e2e_on_exit "e2e_log 'kept work directory $E2E_WORK'"
  else
    e2e_on_exit "rm -rf '$E2E_WORK'"
  fi
}

# ---- ports ----
_e2e_lock_fds=()  # fds holding our flocks; closed in the daemon so that it never inherits them-----------------------------------------------------------------------------
# Sets E2E_PORT_BASE to a locked block of 100 UDP ports (same scheme as turnpike_harness/net.py).
e2e_port_free_udp() {
  node -e '
    const d = require("dgram"); const [addr, lo, hi] = [process.argv[1], +process.argv[2], +process.argv[3]];
    (async () => { for (let p = lo; p <= hi; p++) { const ok = await new Promise(r => {
      const s = d.createSocket("udp4"); s.once("error", () => { s.close(); r(false); });
      s.bind(p, addr, () => { s.close(); r(true); }); }); if (!ok) process.exit(1); } })();
  ' "$1" "$2" "$3"
}

e2e_reserve_ports() {
  local lock_dir="${TMPDIR:-/tmp}/turnpike-it-ports" idx base fd
  mkdir -p "$lock_dir"
  for idx in $(shuf -i 0-119 -n 60); do
    base=$((20000 + idx * 100))
    exec {fd}>"$lock_dir/block-$base.lock"
    if flock -n "$fd"; then
      if e2e_port_free_udp 127.0.0.1 "$base" $((base + 99)); then
        _e2e_lock_fds+=("$fd")
        E2E_PORT_BASE=$base
        E2E_RELAY_MIN=$base
        E2E_RELAY_MAX=$((base + 79))
        E2E_UDP_PORT=$((base + 98))
        E2E_TCP_PORT=$((base + 97))
        E2E_HTTP_PORT=$((base + 95))  # TCP: the "http" listener with /metrics (127.0.0.1)
        return 0
      fi
    fi
    exec {fd}>&-
  done
  e2e_fail "no free block of UDP ports in 20000-31999"
}

# Takes an exclusive lock named $1 for the rest of the script; returns 1 if someone holds it.
e2e_try_lock() {
  local lock_dir="${TMPDIR:-/tmp}/turnpike-it-ports" fd
  mkdir -p "$lock_dir"
  exec {fd}>"$lock_dir/$1.lock"
  if flock -n "$fd"; then _e2e_lock_fds+=("$fd"); return 0; fi
  exec {fd}>&-
  return 1
}

e2e_tcp_port_free() {  # addr port
  node -e '
    const s = require("net").createServer(); s.once("error", () => process.exit(1));
    s.listen(+process.argv[2], process.argv[1], () => s.close(() => process.exit(0)));
  ' "$1" "$2"
}

# ---- certificates --------------------------------------------------------------------------
# e2e_make_certs DIR IP... : throwaway CA (ca.pem) and server certificate (server.pem: leaf +
# CA chain, server.key) whose subjectAltName holds the given IP addresses.
e2e_make_certs() {
  local dir="$1"; shift
  local san="" ip
  for ip in "$@"; do
    case ",$san," in *",IP:$ip,"*) ;; *) san="${san:+$san,}IP:$ip" ;; esac
  done
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 2 \
      -subj "/CN=turnpike e2e test CA $$" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
      -subj "/CN=turnpike e2e server" -keyout server.key -out server.csr 2>/dev/null
    cat > server.ext <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
      -extfile server.ext -out server.crt 2>/dev/null
    cat server.crt ca.pem > server.pem
    chmod 600 ca.key server.key
  ) || e2e_fail "openssl could not create the test certificates"
  openssl verify -CAfile "$dir/ca.pem" "$dir/server.crt" >/dev/null ||
    e2e_fail "test server certificate does not verify against the test CA"
  e2e_log "certificates: CA + server cert with SAN $san"
}

# e2e_make_home HOME CA_PEM : a temporary HOME whose NSS database trusts only the test CA (for
# TLS servers). Chromium (Linux) reads $HOME/.pki/nssdb.
e2e_make_home() {
  local home="$1" ca="$2"
  mkdir -p "$home/.pki/nssdb"
  certutil -N --empty-password -d "sql:$home/.pki/nssdb" ||
    e2e_fail "certutil -N failed"
  certutil -A -t "C,," -n turnpike-test-ca -i "$ca" -d "sql:$home/.pki/nssdb" ||
    e2e_fail "certutil -A failed"
}

# e2e_check_tls ADDR PORT CA [CMD_PREFIX...] : a TLS handshake with openssl that verifies the
# served chain against the test CA and the IP SAN (what Chromium will check). CMD_PREFIX runs it
# elsewhere (e.g. inside a namespace).
e2e_check_tls() {
  local addr="$1" port="$2" ca="$3" out rc; shift 3
  out="$("$@" timeout 10 openssl s_client -connect "$addr:$port" -CAfile "$ca" -verify_ip "$addr" \
        -verify_return_error -brief </dev/null 2>&1)"; rc=$?
  if [ "$rc" -ne 0 ] || ! grep -q "Verification: OK" <<<"$out"; then
    printf '%s\n' "$out" | sed 's/^/    /' | tail -15
    return 1
  fi
  e2e_log "TLS on $addr:$port: $(grep -E '^(Protocol version|Ciphersuite|Verification)' <<<"$out" | tr '\n' ' ')"
}

# ---- the credential endpoint ---------------------------------------------------------------
# e2e_check_credentials ADDR CA [CMD_PREFIX...] : what the pages will do, with curl (verifying the
# server against the test CA): GET https://ADDR:443/turn-credentials with the API key -> 200 JSON
# listing turns:ADDR:443?transport=tcp, and a CORS preflight from the page's origin -> 204 with
# Access-Control-Allow-Origin. CMD_PREFIX runs curl elsewhere (inside a namespace).
e2e_check_credentials() {
  local addr="$1" ca="$2" url body code head; shift 2
  url="https://$addr:443/turn-credentials"
  body="$("$@" curl -sS --max-time 10 --cacert "$ca" -H "Authorization: Bearer $E2E_API_KEY" \
          -w '\n%{http_code}' "$url" 2>&1)"
  code="${body##*$'\n'}"; body="${body%$'\n'*}"
  if [ "$code" != 200 ] || ! grep -qF "\"turns:$addr:443?transport=tcp\"" <<<"$body"; then
    e2e_log "GET $url with the API key: HTTP $code: ${body:0:300}"
    return 1
  fi
  e2e_log "credentials: GET $url -> 200, username $(sed -n 's/.*"username":"\([^"]*\)".*/\1/p' <<<"$body")"
  head="$("$@" curl -sS --max-time 10 --cacert "$ca" -X OPTIONS -o /dev/null -D - \
          -H "Origin: $E2E_PAGE_ORIGIN" -H "Access-Control-Request-Method: GET" \
          -H "Access-Control-Request-Headers: authorization" "$url" 2>&1 | tr -d '\r')"
  if ! grep -q "^HTTP/[0-9.]* 204" <<<"$head" ||
     ! grep -qix "access-control-allow-origin: $E2E_PAGE_ORIGIN" <<<"$head"; then
    e2e_log "CORS preflight from $E2E_PAGE_ORIGIN to $url:"
    sed 's/^/    /' <<<"$head" | head -15
    return 1
  fi
  e2e_log "credentials: CORS preflight from $E2E_PAGE_ORIGIN -> 204, Access-Control-Allow-Origin: $E2E_PAGE_ORIGIN"
}

# e2e_credential_counts : prints "<200s> <204s>", the credential endpoint's answers so far by
# status (turnpike_credential_requests_total on the "http" listener's /metrics); returns 1 (and
# says why) when /metrics cannot be read.
e2e_credential_counts() {
  local text
  if ! text="$(curl -sS --fail --max-time 5 "http://127.0.0.1:$E2E_HTTP_PORT/metrics" 2>&1)"; then
    local alive=no
    [ -n "$E2E_DAEMON_PID" ] && kill -0 "$E2E_DAEMON_PID" 2>/dev/null && alive=yes
    e2e_log "cannot read http://127.0.0.1:$E2E_HTTP_PORT/metrics (daemon running: $alive): $text" >&2
    return 1
  fi
  awk '
    /^turnpike_credential_requests_total\{status="200"\}/ { ok = $2 }
    /^turnpike_credential_requests_total\{status="204"\}/ { pre = $2 }
    END { printf "%d %d\n", ok, pre }' <<<"$text"
}

# e2e_check_browser_fetches BEFORE_200 BEFORE_204 : after the browser run, both pages' fetches
# reached the daemon: exactly 2 more 200s, at least 1 more 204 (Chromium may reuse the first
# page's preflight for the second). Returns 1 otherwise.
e2e_check_browser_fetches() {
  local counts ok pre
  counts="$(e2e_credential_counts)" || return 1
  read -r ok pre <<<"$counts"
  e2e_log "credential endpoint answered the browser: $((ok - $1)) x 200, $((pre - $2)) x 204 (preflight)"
  if [ $((ok - $1)) -ne 2 ] || [ $((pre - $2)) -lt 1 ]; then
    e2e_log "FAIL: expected 2 credential requests and >= 1 preflight from the browser"
    return 1
  fi
}

# ---- daemon --------------------------------------------------------------------------------
# e2e_write_config FILE LISTENERS_JSON [TLS=1] [CREDENTIALS_HOST]
# With CREDENTIALS_HOST, the credential endpoint is enabled (API key $E2E_API_KEY, label
# $E2E_API_LABEL, CORS for $E2E_PAGE_ORIGIN, URLs for that host: it is served on the tls
# listeners) and an "http" listener on 127.0.0.1:$E2E_HTTP_PORT serves /metrics.
e2e_write_config() {
  local file="$1" listeners="$2" tls="${3:-0}" cred_host="${4:-}" tls_json="" cred_json=""
  if [ "$tls" = 1 ]; then
    tls_json="\"tls\": {\"certificate\": \"$E2E_WORK/certs/server.pem\", \"private_key\": \"$E2E_WORK/certs/server.key\", \"handshake_timeout\": 10},"
  fi
  if [ -n "$cred_host" ]; then
    listeners="${listeners%]}, {\"transport\": \"http\", \"address\": \"127.0.0.1\", \"port\": $E2E_HTTP_PORT}]"
    cred_json="\"credentials\": {\"api_keys\": [{\"label\": \"$E2E_API_LABEL\", \"key\": \"$E2E_API_KEY\"}],
                  \"hosts\": [\"$cred_host\"], \"cors_origins\": [\"$E2E_PAGE_ORIGIN\"], \"ttl\": 3600},"
  fi
  cat > "$file" <<EOF
{
  "listeners": $listeners,
  $tls_json
  $cred_json
  "relay": {"address": "127.0.0.1", "port_min": $E2E_RELAY_MIN, "port_max": $E2E_RELAY_MAX},
  "auth": {"realm": "$E2E_REALM", "static_users": {"alice": "alice-pass"},
           "rest_secrets": ["$E2E_REST_SECRET"]},
  "peers": {"allow": ["127.0.0.0/8"]},
  "log": {"level": "${TURNPIKE_E2E_LOG_LEVEL:-info}"}
}
EOF
}

# e2e_start_daemon CONFIG : starts turnpiked, waits for "turnpiked ready" (10 s). Returns 3 if the
# daemon refused a listener transport ("transport not supported"), 1 on other failures.
E2E_DAEMON_PID=""
e2e_start_daemon() {
  local config="$1" i
  E2E_DAEMON_LOG="$E2E_WORK/turnpiked.log"
  : > "$E2E_DAEMON_LOG"
  (
    for f in "${_e2e_lock_fds[@]}"; do eval "exec $f>&-"; done
    exec "$E2E_DAEMON" --config "$config"
  ) </dev/null >>"$E2E_DAEMON_LOG" 2>&1 &
  E2E_DAEMON_PID=$!
  e2e_on_exit "e2e_kill_daemon"
  for ((i = 0; i < 200; i++)); do
    if grep -q "turnpiked ready" "$E2E_DAEMON_LOG"; then
      e2e_log "daemon ready (pid $E2E_DAEMON_PID)"
      return 0
    fi
    if ! kill -0 "$E2E_DAEMON_PID" 2>/dev/null; then
      wait "$E2E_DAEMON_PID"; local rc=$?
      E2E_DAEMON_PID=""
      e2e_log "daemon exited with code $rc before ready:"
      sed 's/^/    /' "$E2E_DAEMON_LOG" | tail -20
      if grep -qi "not supported" "$E2E_DAEMON_LOG"; then return 3; fi
      return 1
    fi
    sleep 0.05
  done
  e2e_log "daemon not ready after 10 s"
  sed 's/^/    /' "$E2E_DAEMON_LOG" | tail -20
  return 1
}

e2e_kill_daemon() {
  if [ -n "$E2E_DAEMON_PID" ] && kill -0 "$E2E_DAEMON_PID" 2>/dev/null; then
    kill -KILL "$E2E_DAEMON_PID" 2>/dev/null
    wait "$E2E_DAEMON_PID" 2>/dev/null
  fi
  E2E_DAEMON_PID=""
}

# SIGTERM, wait up to 10 s, expect exit code 0. Returns non-zero otherwise.
e2e_stop_daemon() {
  local i rc
  [ -n "$E2E_DAEMON_PID" ] || return 1
  if ! kill -0 "$E2E_DAEMON_PID" 2>/dev/null; then  # died on its own before we stopped it
    wait "$E2E_DAEMON_PID"; rc=$?
    E2E_DAEMON_PID=""
    local how=""
    [ "$rc" -gt 128 ] && how=" (killed by signal $((rc - 128)): $(kill -l $((rc - 128)) 2>/dev/null))"
    e2e_log "daemon had already exited before SIGTERM: code $rc$how"
    return 1
  fi
  kill -TERM "$E2E_DAEMON_PID" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$E2E_DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$E2E_DAEMON_PID" 2>/dev/null; then
    e2e_log "daemon did not exit within 10 s of SIGTERM"
    e2e_kill_daemon
    return 1
  fi
  wait "$E2E_DAEMON_PID"; rc=$?
  E2E_DAEMON_PID=""
  if [ "$rc" -ne 0 ]; then
    e2e_log "daemon exited with code $rc after SIGTERM"
    return 1
  fi
  e2e_log "daemon stopped cleanly (exit 0)"
  return 0
}

e2e_print_daemon_log() {
  local n="${1:-80}"
  [ -f "${E2E_DAEMON_LOG:-}" ] || return 0
  e2e_log "---- turnpiked log (last $n lines) ----"
  tail -n "$n" "$E2E_DAEMON_LOG" | sed 's/^/    /'
}

# Kills (by pid) the processes still using a Chromium profile directory we created.
e2e_kill_profile_procs() {
  local profile="$1" pid
  [ -n "$profile" ] || return 0
  for pid in $(pgrep -f -- "--user-data-dir=$profile" 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# TERM a child of ours, wait up to 8 s for it, then KILL it.
e2e_stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 80; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# Runs the Playwright driver with a hard time limit. Extra arguments go to browser_relay.mjs.
e2e_run_browser() {
  local limit="$1"; shift
  local rc=0
  mkdir -p "$E2E_WORK/profile"
  e2e_on_exit "e2e_kill_profile_procs '$E2E_WORK/profile'"
  # In the background + wait, so that a signal to this script is handled at once (bash defers
  # traps until a foreground command returns).
  timeout -k 5 "$limit" node "$E2E_DIR/browser_relay.mjs" \
    --home "$E2E_WORK/home" --profile "$E2E_WORK/profile" --chromium "$CHROMIUM" \
    --timeout $((limit - 5)) "$@" &
  local pid=$!
  e2e_on_exit "e2e_stop_pid $pid"
  wait "$pid" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    e2e_log "browser driver killed after ${limit} s"
  fi
  return "$rc"
}

# e2e_stun_probe HOST PORT TIMEOUT_MS : one STUN Binding request over UDP (no retransmission
# beyond the probe's own, bounded by TIMEOUT_MS). Prints the result; exit 0 = response received,
# 2 = timeout.
e2e_stun_probe() {
  node "$E2E_DIR/stun_probe.mjs" "$@"
}
