# shellcheck shell=bash
# scripts/bench.sh step: RSS per held allocation.

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
