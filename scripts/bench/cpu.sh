# shellcheck shell=bash
# scripts/bench.sh CPU and memory accounting: per-process CPU ticks and VmRSS from /proc, the
# machine's busy time, one measured `turnpike load` run (measure) and its CPU-use row (diag).

cpu_ticks() { # utime + stime of every thread of PID, in clock ticks
  local stat fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
    echo 0
    return
  }
  read -r -a fields <<<"${stat##*) }"
  echo $((fields[11] + fields[12]))
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
busy_ticks() { # busy time of all CPUs (user nice system irq softirq steal), in clock ticks
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# measure LABEL LOAD-ARGS...: one `turnpike load` run (on core 1) with the server's and peer's
# CPU time around it, and the whole machine's. Sets M_JSON, M_WALL, M_SRV_CPU, M_PEER_CPU,
# M_ALL_CPU (every CPU's busy time: what is not ours is other processes' noise).
M_JSON='' M_WALL='' M_SRV_CPU='' M_PEER_CPU='' M_ALL_CPU=''
measure() {
  local label=$1 c0 p0 a0 t0 c1 p1 a1 t1
  shift
  local cmd=("${GEN_PIN[@]}" "$CLI" load "$@" --json --no-progress)
  record "${cmd[*]}"
  M_JSON=$TMP/$label.json
  sleep "$PAUSE_S"
  c0=$(cpu_ticks "$SRV_PID")
  p0=$(cpu_ticks "$PEER_PID")
  a0=$(busy_ticks)
  t0=$(now)
  "${cmd[@]}" >"$M_JSON" 2>"$TMP/$label.err" || true # exit 1 on loss: judged from the JSON
  t1=$(now)
  c1=$(cpu_ticks "$SRV_PID")
  p1=$(cpu_ticks "$PEER_PID")
  a1=$(busy_ticks)
  M_WALL=$(calc "$t1 - $t0")
  M_SRV_CPU=$(calc "($c1 - $c0) / $CLK_TCK")
  M_PEER_CPU=$(calc "($p1 - $p0) / $CLK_TCK")
  M_ALL_CPU=$(calc "($a1 - $a0) / $CLK_TCK")
}

# diag LABEL: one row of CPU use for the last measure (server, generator, peer, other processes)
# and a verdict. Percentages are of one core over the run's wall time.
diag() {
  local label=$1 user sys elapsed srv gen peer other note="" v
  mapfile -t v < <(jget "$M_JSON" cpu_s.user cpu_s.system elapsed_s)
  user=${v[0]:-0} sys=${v[1]:-0} elapsed=${v[2]:-0}
  srv=$(calc "100 * $M_SRV_CPU / $M_WALL")
  gen=$(calc "($elapsed > 0) ? 100 * ($user + $sys) / $elapsed : 0")
  peer=$(calc "100 * $M_PEER_CPU / $M_WALL")
  other=$(calc "100 * ($M_ALL_CPU - $M_SRV_CPU - $M_PEER_CPU - $user - $sys) / $M_WALL")
  other=$(calc "($other < 0) ? 0 : $other")
  if awk -v g="$gen" -v p="$peer" -v s="$srv" 'BEGIN { exit !(g >= 95 || g + p >= 95) || !(s < 95) }'; then
    note="core 1 saturated (generator $(fmt0 "$gen") % + peer $(fmt0 "$peer") %) while the server used $(fmt0 "$srv") %: generator-bound"
    log "$label: $note"
  fi
  if awk -v o="$other" 'BEGIN { exit !(o >= 15) }'; then
    note="${note:+$note; }other processes used $(fmt0 "$other") % of a core: noisy"
    log "$label: other processes used $(fmt0 "$other") % of a core during the run"
  fi
  DIAG+=("| $label | $(fmt0 "$srv") % | $(fmt0 "$gen") % | $(fmt0 "$peer") % | $(fmt0 "$other") % | $note |")
}
