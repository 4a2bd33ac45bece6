# shellcheck shell=bash
# scripts/bench.sh step: the highest paced rate with < 0.1 % loss (paced runs, then a search).

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
