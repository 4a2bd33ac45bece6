# shellcheck shell=bash
# scripts/bench.sh servers: the echo peer (`turnpike peer`), turnpiked, coturn's turnserver and
# the raw forwarder, each started pinned to the server core and waited for; and the
# `turnpike load` target arguments for a server and transport.

SRV_PID=
PEER_PID=

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
