# shellcheck shell=bash
# scripts/bench.sh step: flood throughput (relayed packets/s and per server CPU-second).

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
