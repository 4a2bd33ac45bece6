# shellcheck shell=bash
# scripts/bench.sh step: TLS at coturn's loss point (uses paced from search.sh).

# tls_loss_point: the lowest paced TLS rate (16 allocations, 100 B) at which coturn loses
# >= 0.1 %, then turnpike at exactly that rate: "0 loss where coturn loses".
tls_loss_point() {
  local rate found=
  log "==== TLS at coturn's loss point ===="
  start_server coturn
  for rate in $TLS_LADDER; do
    paced coturn "$rate" tls
    [[ $P_PACED == 1 ]] || break  # the generator cannot offer more
    if [[ $P_PASS == 0 && $P_NOTE != loss* ]]; then
      fail "coturn: paced TLS $rate pkt/s: $P_NOTE"
      break
    fi
    if [[ $P_PASS == 0 ]]; then
      found=$rate
      break
    fi
  done
  R[coturn,tls_lossp]=${P_LOSS:-}
  stop_server
  if [[ -z $found ]]; then
    TLS_LOSS_NOTE="coturn lost < 0.1 % at every rate tried ($TLS_LADDER pkt/s offered)"
    unset 'R[coturn,tls_lossp]'
    log "$TLS_LOSS_NOTE"
    return
  fi
  start_server turnpike
  paced turnpike "$found" tls
  R[turnpike,tls_lossp]=$P_LOSS
  stop_server
  TLS_LOSS_RATE=$found
  TLS_LOSS_NOTE="coturn's first rate with >= 0.1 % loss on the ladder $TLS_LADDER pkt/s: $found pkt/s offered (coturn loss $(fmt "${R[coturn,tls_lossp]}" 3) %, turnpike loss $(fmt "${R[turnpike,tls_lossp]}" 3) %)"
  log "$TLS_LOSS_NOTE"
}
