# shellcheck shell=bash
# scripts/bench.sh step: allocations/s and allocations per server CPU-second.

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
