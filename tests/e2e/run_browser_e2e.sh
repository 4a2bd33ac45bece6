#!/usr/bin/env bash
# turnpike end-to-end browser test, loopback scenario.
#
# Two headless Chromium peers (Playwright, /usr/bin/chromium) with iceTransportPolicy 'relay' and
# ONLY turns:<addr>:443?transport=tcp in iceServers open a DataChannel (messages both ways) and
# send a 640x480 fake-camera video track at 30 fps through turnpiked. Each page gets its ICE
# servers as a web app would: it fetches https://<addr>:443/turn-credentials (the same port as
# TURN/TLS) with a bearer API key, cross-origin with a CORS preflight, and keeps the turns: URL.
# Passes when both fetches succeed (and reached the daemon: its request counters moved), the
# selected candidate pair is relay over TLS on both peers, the receiver decodes >= 10 fps, and the
# daemon exits 0 on SIGTERM afterwards. Prints fps, setup time, packetsLost/packetsReceived and
# the selected pair.
#
# The TLS certificate comes from a throwaway CA created here and trusted only in a temporary
# HOME's NSS database. The daemon listens on <addr>:443 (127.0.0.1, or 127.0.0.2.. if 443 is taken
# there) plus UDP on 127.0.0.1 (a block of ports shared with the integration tests' lock scheme).
#
# Usage: tests/e2e/run_browser_e2e.sh [--daemon PATH/TO/turnpiked] [--keep]
# Environment: TURNPIKED (daemon path), TURNPIKE_E2E_TRANSPORT=tls|udp (udp: plain
# turn:...?transport=udp, to debug the browser harness without TLS), TURNPIKE_E2E_REQUIRE=1
# (missing browser stack fails instead of skipping), TURNPIKE_E2E_LOG_LEVEL (daemon log level).
# Exit: 0 pass, 1 fail, 77 skipped (prerequisite missing; needs root for port 443).
set -uo pipefail
E2E_NAME=browser_e2e
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
e2e_parse_args "$@"
SECONDS=0

transport="${TURNPIKE_E2E_TRANSPORT:-tls}"
case "$transport" in tls|udp) ;; *) e2e_fail "TURNPIKE_E2E_TRANSPORT must be tls or udp" ;; esac

e2e_check_prereqs
if [ "$transport" = tls ] && [ "$(id -u)" -ne 0 ]; then
  e2e_skip "binding TCP port 443 needs root (or CAP_NET_BIND_SERVICE); run as root"
fi
e2e_make_workdir
e2e_copy_daemon
e2e_reserve_ports

# An address with TCP 443 free (and not used by a concurrent run of these tests).
tls_addr=""
if [ "$transport" = tls ]; then
  for a in 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5; do
    if e2e_try_lock "tcp443-$a" && e2e_tcp_port_free "$a" 443; then tls_addr=$a; break; fi
  done
  [ -n "$tls_addr" ] || e2e_fail "TCP port 443 is taken on 127.0.0.1-127.0.0.5"
fi

e2e_make_certs "$E2E_WORK/certs" 127.0.0.1 ${tls_addr:+"$tls_addr"}
e2e_make_home "$E2E_WORK/home" "$E2E_WORK/certs/ca.pem"

listeners="[{\"transport\": \"udp\", \"address\": \"127.0.0.1\", \"port\": $E2E_UDP_PORT}"
if [ "$transport" = tls ]; then
  listeners="$listeners, {\"transport\": \"tls\", \"address\": \"$tls_addr\", \"port\": 443}]"
  turn_url="turns:$tls_addr:443?transport=tcp"
  expect=tls
  e2e_write_config "$E2E_WORK/turnpike.json" "$listeners" 1 "$tls_addr"
else
  listeners="$listeners]"
  turn_url="turn:127.0.0.1:$E2E_UDP_PORT?transport=udp"
  expect=udp
  e2e_write_config "$E2E_WORK/turnpike.json" "$listeners" 0
fi

e2e_start_daemon "$E2E_WORK/turnpike.json"
case $? in
  0) ;;
  3) e2e_fail "turnpiked refused the $transport listener (transport not supported by this build)" ;;
  *) e2e_fail "turnpiked did not start" ;;
esac

# tls: the pages fetch credentials from the daemon; udp (development mode): the driver mints them.
cred_args=()
if [ "$transport" = tls ]; then
  e2e_check_tls "$tls_addr" 443 "$E2E_WORK/certs/ca.pem" ||
    { e2e_print_daemon_log 40; e2e_fail "TLS handshake with turnpiked on $tls_addr:443 failed"; }
  e2e_check_credentials "$tls_addr" "$E2E_WORK/certs/ca.pem" ||
    { e2e_print_daemon_log 40; e2e_fail "the credential endpoint on $tls_addr:443 does not answer as the page needs"; }
  cred_args=(--credentials-url "https://$tls_addr:443/turn-credentials" --api-key "$E2E_API_KEY")
  read -r creds_200_before creds_204_before < <(e2e_credential_counts) ||
    e2e_fail "cannot read the credential counters before the browser run"
fi
e2e_log "relay ports $E2E_RELAY_MIN-$E2E_RELAY_MAX on 127.0.0.1; TURN server $turn_url"
browser_rc=0
e2e_run_browser 75 --label loopback --turn-url "$turn_url" "${cred_args[@]}" \
  --rest-secret "$E2E_REST_SECRET" --expect-relay-protocol "$expect" || browser_rc=$?

if [ "$transport" = tls ]; then
  # Both pages' fetches reached the daemon (its request counters moved).
  e2e_check_browser_fetches "$creds_200_before" "$creds_204_before" || browser_rc=1
fi

daemon_ok=1
e2e_stop_daemon || daemon_ok=0
if [ "$browser_rc" -ne 0 ] || [ "$daemon_ok" -ne 1 ]; then
  e2e_print_daemon_log 80
  e2e_log "FAIL (browser driver exit $browser_rc, daemon clean exit: $daemon_ok) after ${SECONDS} s"
  exit 1
fi
e2e_log "PASS after ${SECONDS} s"
exit 0
