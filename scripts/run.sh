#!/usr/bin/env bash
# Installs what the daemon needs (scripts/deps.sh --run-only), builds turnpiked and the turnpike
# CLI, and runs turnpiked in the foreground (Ctrl-C stops it).
# Config: ${TURNPIKE_CONFIG:-~/.config/turnpike/turnpike.json}. If that file does not exist, a
# loopback-only one is generated (UDP+TCP 127.0.0.1:3478, the credential endpoint and metrics on
# http://127.0.0.1:9641, relay on 127.0.0.1) with a random TURN REST secret, API key and
# static-user password, which are printed once. Extra arguments go to
# turnpiked (e.g. --log-level debug).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh --run-only
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTURNPIKE_BUILD_TESTS=OFF >/dev/null
cmake --build build -j "${TURNPIKE_JOBS:-2}" --target turnpiked turnpike  # the daemon and the client CLI

config=${TURNPIKE_CONFIG:-$HOME/.config/turnpike/turnpike.json}
if [ ! -e "$config" ]; then
  mkdir -p "$(dirname "$config")"
  secret=$(openssl rand -base64 32)
  password=$(openssl rand -base64 24 | tr -d '/+=')
  api_key=$(openssl rand -hex 24)
  user=demo
  (
    umask 077
    cat >"$config" <<JSON
{
  "listeners": [
    {"transport": "udp", "address": "127.0.0.1", "port": 3478},
    {"transport": "tcp", "address": "127.0.0.1", "port": 3478},
    {"transport": "http", "address": "127.0.0.1", "port": 9641}
  ],
  "relay": {"address": "127.0.0.1", "port_min": 49152, "port_max": 65535},
  "auth": {
    "realm": "turnpike",
    "static_users": {"$user": "$password"},
    "rest_secrets": ["$secret"]
  },
  "credentials": {
    "api_keys": [{"label": "local-dev", "key": "$api_key"}],
    "hosts": ["127.0.0.1"]
  },
  "log": {"level": "info"}
}
JSON
  )
  chmod 600 "$config"
  cat <<MSG

================================================================================
Wrote a new loopback-only config: $config (mode 600)
These secrets are shown only now; they stay in that file.

  static user        : $user
  static password    : $password
  TURN REST secret   : $secret
  API key            : $api_key
  realm              : turnpike

Ask the credential endpoint for 24 h TURN credentials, as an app would (plain HTTP on
127.0.0.1 here; use a "tls" listener on 443 in production, see docs/deployment.md):
  curl -H "Authorization: Bearer $api_key" http://127.0.0.1:9641/turn-credentials
Metrics: curl http://127.0.0.1:9641/metrics

Mint a time-limited TURN REST credential (valid 1 hour) for user "me":
  u="\$(( \$(date +%s) + 3600 )):me"
  p=\$(printf '%s' "\$u" | openssl dgst -sha1 -hmac '$secret' -binary | base64)
  echo "username=\$u password=\$p"

Check it answers (coturn's client tool, from the coturn package):
  turnutils_stunclient -p 3478 127.0.0.1

Loopback peers are denied by default; for local relay tests (e.g. turnutils_uclient with
turnutils_peer on 127.0.0.1) add  "peers": {"allow": ["127.0.0.0/8"]}  to the config.
The listeners are 127.0.0.1 only; see docs/configuration.md to expose them.
================================================================================

MSG
fi

exec build/src/turnpiked --config "$config" "$@"
