#!/usr/bin/env bash
# ops.systemd_unit: `systemd-analyze verify` on config/turnpiked.service, plus the settings the
# deployment docs rely on and an exposure ceiling from `systemd-analyze security --offline`.
#
# systemd-analyze verify insists that ExecStart's binary exists, so it runs on a temporary copy of
# the unit whose /usr/bin/turnpiked points at the built binary. A control unit with a misspelt key
# must produce a warning first: if it does not, verify is not really checking anything here and
# the test fails rather than pass silently. Exit 77 (skip) only when systemd-analyze is missing
# or cannot run at all in this environment, with the reason.
#
# Usage: systemd_unit_test.sh --unit config/turnpiked.service --daemon build/src/turnpiked
# shellcheck disable=SC2015,SC2016,SC2001  # "test && pass || fail": pass() cannot fail; literal $ in quotes; sed is clearer
set -euo pipefail

unit='' daemon=''
while [ $# -gt 0 ]; do
  case $1 in
    --unit) unit=$2; shift 2 ;;
    --daemon) daemon=$2; shift 2 ;;
    *) echo "usage: $0 --unit FILE --daemon FILE" >&2; exit 2 ;;
  esac
done
[ -f "$unit" ] || { echo "FAIL: no unit file '$unit'" >&2; exit 1; }
[ -x "$daemon" ] || { echo "FAIL: no daemon binary '$daemon'" >&2; exit 1; }
daemon=$(cd "$(dirname "$daemon")" && pwd)/$(basename "$daemon")

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not found (Debian package 'systemd'; scripts/deps.sh installs it)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

verify() { # unit-file -> output of systemd-analyze verify (stdout+stderr), status in $verify_rc
  verify_rc=0
  verify_out=$(cd "$(dirname "$1")" && SYSTEMD_LOG_COLOR=0 \
    systemd-analyze verify --man=no --generators=no "$(basename "$1")" 2>&1) || verify_rc=$?
}

# 1. Can systemd-analyze verify run here at all? A trivially valid unit must verify cleanly.
mkdir -p "$tmp/control"
cat >"$tmp/control/ops-control.service" <<'EOF'
[Unit]
Description=control unit
[Service]
Type=oneshot
ExecStart=/bin/true
EOF
verify "$tmp/control/ops-control.service"
if [ "$verify_rc" -ne 0 ] || [ -n "$verify_out" ]; then
  echo "SKIP: systemd-analyze verify cannot check units in this environment" \
       "(a trivial unit gave rc=$verify_rc): $verify_out"
  exit 77
fi
# ... and a broken one must be reported (otherwise a pass below would mean nothing).
printf '[Service]\nExecStart=/bin/true\nLockPersonalty=yes\n' >"$tmp/control/ops-broken.service"
verify "$tmp/control/ops-broken.service"
if ! grep -q "Unknown key" <<<"$verify_out"; then
  fail "systemd-analyze verify did not report a misspelt key (rc=$verify_rc): $verify_out"
fi

# 2. The real unit, with ExecStart's binary pointing at the build.
mkdir -p "$tmp/unit"
sed "s#/usr/bin/turnpiked#$daemon#g" "$unit" >"$tmp/unit/turnpiked.service"
verify "$tmp/unit/turnpiked.service"
if [ "$verify_rc" -eq 0 ] && [ -z "$verify_out" ]; then
  pass "systemd-analyze verify: no errors, no warnings"
else
  fail "systemd-analyze verify (rc=$verify_rc):"$'\n'"$verify_out"
fi

# 3. Settings the docs and the packaging rely on (exact lines of the shipped unit).
expect_line() {
  if grep -qxF -- "$1" "$unit"; then pass "$1"; else fail "unit lacks the line: $1"; fi
}
for line in \
  'Type=notify' \
  'ExecStart=/usr/bin/turnpiked --config /etc/turnpike/turnpike.json' \
  'ExecReload=/bin/kill -HUP $MAINPID' \
  'ConditionPathExists=/etc/turnpike/turnpike.json' \
  'User=turnpike' 'Group=turnpike' 'DynamicUser=no' \
  'AmbientCapabilities=CAP_NET_BIND_SERVICE' 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' \
  'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
  'PrivateDevices=yes' 'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' \
  'ProtectKernelLogs=yes' 'ProtectControlGroups=yes' \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' 'RestrictNamespaces=yes' \
  'LockPersonality=yes' 'MemoryDenyWriteExecute=yes' 'SystemCallArchitectures=native' \
  'ReadOnlyPaths=/etc/turnpike' 'LimitNOFILE=65536' 'Restart=on-failure' \
  'WantedBy=multi-user.target'; do
  expect_line "$line"
done
# The `--check-config` ExecStartPre/ExecReload must use flags the binary really has.
if "$daemon" --help 2>&1 | grep -q -- '--check-config'; then
  pass "turnpiked --help lists --check-config"
else
  fail "turnpiked has no --check-config, which the unit's ExecStartPre/ExecReload use"
fi

# 4. Exposure score: fail if a change weakens the sandbox noticeably (3.0 when written; 0-10).
if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
  sec_rc=0
  sec_out=$(cd "$tmp/unit" && SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true \
    --threshold=35 --no-pager turnpiked.service 2>&1) || sec_rc=$?
  score=$(grep -o 'Overall exposure level for turnpiked.service: [0-9.]*' <<<"$sec_out" || true)
  if [ "$sec_rc" -eq 0 ] && [ -n "$score" ]; then
    pass "systemd-analyze security: ${score##*: } (ceiling 3.5)"
  else
    fail "systemd-analyze security above the 3.5 ceiling or failed (rc=$sec_rc): ${score:-$sec_out}"
  fi
else
  echo "note: this systemd-analyze has no 'security --offline'; exposure score not checked"
fi

if [ "$failures" -ne 0 ]; then
  echo "systemd_unit_test: $failures failure(s)"
  exit 1
fi
echo "systemd_unit_test: all checks passed"
