# shellcheck shell=bash
# scripts/bench.sh step: RTT percentiles.

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
