#!/usr/bin/env bash
# turnpike end-to-end browser test, restricted-network scenario.
#
# The same browser test as run_browser_e2e.sh (two headless Chromium peers, relay only, ONLY a
# turns:<server>:443?transport=tcp server, which each page fetches with its credentials from
# https://<server>:443/turn-credentials: credentials and TURN share port 443), but Chromium runs
# inside a network namespace behind a NAT router namespace whose firewall drops all UDP and
# every TCP port except 443:
#
#   [ns tpk-e2e-K-br]              [ns tpk-e2e-K-rt]                         [root namespace]
#   chromium  10.213.2K.2 --veth-- 10.213.2K.1 | 10.213.2K+1.2 --veth-- 10.213.2K+1.1 turnpiked
#             default via .1       FORWARD: established + tcp/443 only,     udp :P, tls :443,
#                                  MASQUERADE out                           relay 127.0.0.1
#
# Before the browser runs, the test proves the firewall is real: a STUN Binding request over UDP
# to the daemon's UDP listener succeeds from the root namespace and times out from the browser
# namespace; a TCP connect to a non-443 port (a listener this test starts) succeeds from the root
# namespace and times out from the browser namespace, while TCP 443 connects. After the run it
# prints the router's firewall counters. The addresses exist only inside the namespaces and the
# veth pair; everything is removed on exit (trap). The Playwright driver itself runs in the root
# namespace and talks to Chromium over a pipe; only Chromium is inside the namespace.
#
# Usage: tests/e2e/run_netns_e2e.sh [--daemon PATH/TO/turnpiked] [--keep]
# Environment: as run_browser_e2e.sh. TURNPIKE_E2E_TRANSPORT=udp is a DEVELOPMENT mode only: it
# opens the daemon's UDP port in the firewall and uses turn:...?transport=udp (the firewall proof
# is then reported but not enforced, and the run can never be mistaken for the real one).
# Exit: 0 pass, 1 fail, 77 skipped (not root / no CAP_NET_ADMIN / no iptables / browser stack
# missing).
set -uo pipefail
E2E_NAME=netns_e2e
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_parse_args "$@"
SECONDS=0

transport="${TURNPIKE_E2E_TRANSPORT:-tls}"
case "$transport" in tls|udp) ;; *) e2e_fail "TURNPIKE_E2E_TRANSPORT must be tls or udp" ;; esac

e2e_check_prereqs
[ "$(id -u)" -eq 0 ] || e2e_skip "network namespaces and port 443 need root (CAP_NET_ADMIN); run as root"
command -v ip >/dev/null 2>&1 || e2e_skip "ip (iproute2) not found"
command -v iptables >/dev/null 2>&1 || e2e_missing "iptables not found (apt-get install iptables)"

# Namespaces left behind by runs that were killed hard (SIGKILL skips the trap): a slot whose
# lock nobody holds is not in use, so its namespaces can go.
mkdir -p "${TMPDIR:-/tmp}/turnpike-it-ports"
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^tpk-e2e-[0-9]+-(br|rt)$'); do
  k="${ns#tpk-e2e-}"; k="${k%%-*}"
  # Under the slot's lock, so a run that takes the slot right now is not disturbed.
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  flock -n "${TMPDIR:-/tmp}/turnpike-it-ports/netns-slot-$k.lock" bash -c '
    echo "[netns_e2e $(date +%T)] removing stale namespace $1"
    for pid in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$1" 2>/dev/null' _ "$ns" || true
done

# A free namespace slot K (locked for our lifetime; concurrent runs take other slots).
slot=""
for k in $(shuf -i 1-60 -n 20); do
  if e2e_try_lock "netns-slot-$k"; then slot=$k; break; fi
done
[ -n "$slot" ] || e2e_fail "no free namespace slot"
NS_BR="tpk-e2e-$slot-br"
NS_RT="tpk-e2e-$slot-rt"
IF_BR="tpk${slot}b"    # browser namespace side
IF_RB="tpk${slot}rb"   # router, towards the browser
IF_RS="tpk${slot}rs"   # router, towards the server
IF_S="tpk${slot}s"     # root namespace side (the daemon's address)
NET_IN="10.213.$((2 * slot))"
NET_OUT="10.213.$((2 * slot + 1))"
BR_ADDR="$NET_IN.2"
RT_IN_ADDR="$NET_IN.1"
RT_OUT_ADDR="$NET_OUT.2"
SRV_ADDR="$NET_OUT.1"

netns_teardown() {
  local ns pid
  for ns in "$NS_BR" "$NS_RT"; do
    if ip netns pids "$ns" >/dev/null 2>&1; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    fi
  done
  for ns in "$NS_BR" "$NS_RT"; do
    if [ -e "/run/netns/$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
  done
  # Deleting the router namespace destroys its veths and so their peers; be thorough anyway.
  ip link del "$IF_S" 2>/dev/null || true
}

# Leftovers from a killed run that had this slot (we hold the slot's lock now).
netns_teardown

if ! ip netns add "$NS_RT" 2>"${TMPDIR:-/tmp}/tpk-e2e-netns-err.$$"; then
  reason="$(cat "${TMPDIR:-/tmp}/tpk-e2e-netns-err.$$")"
  rm -f "${TMPDIR:-/tmp}/tpk-e2e-netns-err.$$"
  e2e_skip "cannot create network namespaces (no CAP_NET_ADMIN?): $reason"
fi
rm -f "${TMPDIR:-/tmp}/tpk-e2e-netns-err.$$"
e2e_on_exit "netns_teardown"
ip netns add "$NS_BR" || e2e_fail "ip netns add $NS_BR failed"

in_br() { ip netns exec "$NS_BR" "$@"; }
in_rt() { ip netns exec "$NS_RT" "$@"; }
ipt_rt() { in_rt iptables -w 5 "$@"; }

setup_network() {
  set -e
  ip link add "$IF_BR" type veth peer name "$IF_RB"
  ip link set "$IF_BR" netns "$NS_BR"
  ip link set "$IF_RB" netns "$NS_RT"
  ip link add "$IF_S" type veth peer name "$IF_RS"
  ip link set "$IF_RS" netns "$NS_RT"

  in_br ip link set lo up
  in_br ip addr add "$BR_ADDR/24" dev "$IF_BR"
  in_br ip link set "$IF_BR" up
  in_br ip route add default via "$RT_IN_ADDR"

  in_rt ip link set lo up
  in_rt ip addr add "$RT_IN_ADDR/24" dev "$IF_RB"
  in_rt ip addr add "$RT_OUT_ADDR/24" dev "$IF_RS"
  in_rt ip link set "$IF_RB" up
  in_rt ip link set "$IF_RS" up
  in_rt sysctl -q -w net.ipv4.ip_forward=1

  ip addr add "$SRV_ADDR/24" dev "$IF_S"
  ip link set "$IF_S" up

  # The router: NAT towards the server, and a firewall that forwards only new TCP connections to
  # port 443 (plus their return traffic). All UDP and all other TCP is dropped (not rejected:
  # a client sees a timeout, as behind a real restrictive firewall). The router itself accepts
  # nothing from the browser side.
  ipt_rt -P INPUT DROP
  ipt_rt -A INPUT -i lo -j ACCEPT
  ipt_rt -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  ipt_rt -P FORWARD DROP
  ipt_rt -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  ipt_rt -A FORWARD -i "$IF_RB" -o "$IF_RS" -p tcp --dport 443 -m conntrack --ctstate NEW -j ACCEPT
  if [ "$transport" = udp ]; then
    ipt_rt -A FORWARD -i "$IF_RB" -o "$IF_RS" -p udp -d "$SRV_ADDR" --dport "$E2E_UDP_PORT" -j ACCEPT
  fi
  ipt_rt -A FORWARD -p udp -j DROP
  ipt_rt -A FORWARD -p tcp -j DROP
  ipt_rt -t nat -A POSTROUTING -o "$IF_RS" -j MASQUERADE
  set +e
}

e2e_make_workdir
e2e_copy_daemon
e2e_reserve_ports
( setup_network ) 2>"$E2E_WORK/netns-setup.err"  # not in an `||` list: set -e stays effective
setup_rc=$?
if [ "$setup_rc" -ne 0 ]; then
  sed 's/^/    /' "$E2E_WORK/netns-setup.err"
  # EPERM/EACCES: the namespaces exist but we may not configure them (no CAP_NET_ADMIN, e.g. an
  # unprivileged container or capsh --drop=cap_net_admin): a skip, not a failure.
  if grep -qiE "not permitted|permission denied" "$E2E_WORK/netns-setup.err"; then
    e2e_skip "cannot configure network namespaces (no CAP_NET_ADMIN): $(head -1 "$E2E_WORK/netns-setup.err")"
  fi
  e2e_fail "could not set up the namespaces / veths / firewall"
fi
e2e_log "namespaces $NS_BR ($BR_ADDR) -> $NS_RT (NAT, firewall: tcp/443 only) -> root ($SRV_ADDR)"

e2e_make_certs "$E2E_WORK/certs" 127.0.0.1 "$SRV_ADDR"
e2e_make_home "$E2E_WORK/home" "$E2E_WORK/certs/ca.pem"

listeners="[{\"transport\": \"udp\", \"address\": \"$SRV_ADDR\", \"port\": $E2E_UDP_PORT}"
if [ "$transport" = tls ]; then
  listeners="$listeners, {\"transport\": \"tls\", \"address\": \"$SRV_ADDR\", \"port\": 443}]"
  turn_url="turns:$SRV_ADDR:443?transport=tcp"
  expect=tls
  e2e_write_config "$E2E_WORK/turnpike.json" "$listeners" 1 "$SRV_ADDR"
else
  listeners="$listeners]"
  turn_url="turn:$SRV_ADDR:$E2E_UDP_PORT?transport=udp"
  expect=udp
  e2e_write_config "$E2E_WORK/turnpike.json" "$listeners" 0
  e2e_log "DEVELOPMENT MODE (TURNPIKE_E2E_TRANSPORT=udp): UDP/$E2E_UDP_PORT is open in the firewall"
fi

e2e_start_daemon "$E2E_WORK/turnpike.json"
case $? in
  0) ;;
  3) e2e_fail "turnpiked refused the $transport listener (transport not supported by this build)" ;;
  *) e2e_fail "turnpiked did not start" ;;
esac

# A TCP listener on a port other than 443, owned by this test, to show that TCP is filtered too.
node "$E2E_DIR/tcp_probe.mjs" --listen "$SRV_ADDR" "$E2E_TCP_PORT" >"$E2E_WORK/tcp_listener.log" 2>&1 &
tcp_listener_pid=$!
e2e_on_exit "kill $tcp_listener_pid 2>/dev/null; wait $tcp_listener_pid 2>/dev/null"
for _ in $(seq 50); do grep -q listening "$E2E_WORK/tcp_listener.log" && break; sleep 0.1; done

# ---- the firewall is real ---------------------------------------------------------------------
proof_ok=1
probe() {  # expect(0|2) where label command...
  local expect="$1" label="$2"; shift 2
  local out rc
  out="$("$@" 2>&1)"; rc=$?
  local verdict=ok
  [ "$rc" -eq "$expect" ] || { verdict=UNEXPECTED; proof_ok=0; }
  e2e_log "  [$verdict] $label: $out"
}
e2e_log "firewall proof:"
probe 0 "UDP STUN Binding from the root namespace to $SRV_ADDR:$E2E_UDP_PORT" \
  node "$E2E_DIR/stun_probe.mjs" "$SRV_ADDR" "$E2E_UDP_PORT" 2000
if [ "$transport" = tls ]; then
  probe 2 "UDP STUN Binding from $NS_BR to $SRV_ADDR:$E2E_UDP_PORT (must time out)" \
    in_br node "$E2E_DIR/stun_probe.mjs" "$SRV_ADDR" "$E2E_UDP_PORT" 3000
else
  probe 0 "UDP STUN Binding from $NS_BR to $SRV_ADDR:$E2E_UDP_PORT (dev mode: port opened)" \
    in_br node "$E2E_DIR/stun_probe.mjs" "$SRV_ADDR" "$E2E_UDP_PORT" 3000
fi
probe 0 "TCP connect from the root namespace to $SRV_ADDR:$E2E_TCP_PORT" \
  node "$E2E_DIR/tcp_probe.mjs" "$SRV_ADDR" "$E2E_TCP_PORT" 2000
probe 2 "TCP connect from $NS_BR to $SRV_ADDR:$E2E_TCP_PORT (must time out)" \
  in_br node "$E2E_DIR/tcp_probe.mjs" "$SRV_ADDR" "$E2E_TCP_PORT" 2000
if [ "$transport" = tls ]; then
  probe 0 "TCP connect from $NS_BR to $SRV_ADDR:443 (the one open port)" \
    in_br node "$E2E_DIR/tcp_probe.mjs" "$SRV_ADDR" 443 3000
fi
if [ "$transport" = tls ]; then
  e2e_check_tls "$SRV_ADDR" 443 "$E2E_WORK/certs/ca.pem" in_br || proof_ok=0
  # The credential endpoint, from the browser's namespace through the firewall (port 443 only).
  e2e_check_credentials "$SRV_ADDR" "$E2E_WORK/certs/ca.pem" in_br || proof_ok=0
fi
if [ "$proof_ok" -ne 1 ]; then
  ipt_rt -L FORWARD -v -n -x | sed 's/^/    /'
  e2e_fail "the firewall does not behave as required; not running the browser"
fi

# ---- the browser, inside the namespace ------------------------------------------------------
launcher="$E2E_WORK/chromium-in-netns"
cat > "$launcher" <<EOF
#!/bin/sh
# Playwright's executablePath: runs Chromium inside $NS_BR (the pipe to the driver is inherited).
exec ip netns exec '$NS_BR' '$CHROMIUM' "\$@"
EOF
chmod +x "$launcher"

# tls: the pages fetch credentials from the daemon; udp (development mode): the driver mints them.
cred_args=()
if [ "$transport" = tls ]; then
  cred_args=(--credentials-url "https://$SRV_ADDR:443/turn-credentials" --api-key "$E2E_API_KEY")
  read -r creds_200_before creds_204_before < <(e2e_credential_counts) ||
    e2e_fail "cannot read the credential counters before the browser run"
fi
e2e_log "relay ports $E2E_RELAY_MIN-$E2E_RELAY_MAX on 127.0.0.1; TURN server $turn_url"
browser_rc=0
e2e_run_browser 70 --label netns --launcher "$launcher" --turn-url "$turn_url" "${cred_args[@]}" \
  --rest-secret "$E2E_REST_SECRET" --expect-relay-protocol "$expect" || browser_rc=$?

if [ "$transport" = tls ]; then
  # Both pages' fetches reached the daemon (its request counters moved).
  e2e_check_browser_fetches "$creds_200_before" "$creds_204_before" || browser_rc=1
fi

e2e_log "router firewall counters after the run (FORWARD chain, $NS_RT):"
ipt_rt -L FORWARD -v -n -x | sed 's/^/    /'
udp_dropped="$(ipt_rt -L FORWARD -v -n -x | awk '$3 == "DROP" && $4 == "17" {print $1; exit}')"
tcp443_new="$(ipt_rt -L FORWARD -v -n -x | awk '$3 == "ACCEPT" && /dpt:443/ {print $1; exit}')"
e2e_log "UDP packets dropped by the router: ${udp_dropped:-?}; new TCP connections forwarded to" \
  "port 443: ${tcp443_new:-?} (2 probes, 2 curl credential checks, the pages' HTTPS fetches and" \
  "the browser's TURN/TLS connections)"

daemon_ok=1
e2e_stop_daemon || daemon_ok=0
if [ "$transport" = udp ]; then
  e2e_log "DEVELOPMENT MODE: this was not the real (TLS-only) scenario"
fi
if [ "$browser_rc" -ne 0 ] || [ "$daemon_ok" -ne 1 ]; then
  e2e_print_daemon_log 80
  e2e_log "FAIL (browser driver exit $browser_rc, daemon clean exit: $daemon_ok) after ${SECONDS} s"
  exit 1
fi
e2e_log "PASS after ${SECONDS} s"
exit 0
