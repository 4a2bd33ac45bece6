#!/usr/bin/env bash
# ops.docker_contents: what can be checked of docker/ without a Docker engine or a cluster.
#   (a) docker/entrypoint.sh, run with dash (the image's /bin/sh) in a temporary directory with a
#       fake turnpiked first on PATH: the config it renders from TURNPIKE_* variables must pass the
#       real `turnpiked --check-config`, a mounted config must be used as is, bad input must be
#       refused before anything runs.
#   (b) a live run: the entrypoint starts the real turnpiked on loopback (TLS with a throw-away
#       certificate); the Dockerfile's own HEALTHCHECK command must succeed, the HTTPS credential
#       endpoint must mint a credential that verifies against the secret, STUN must answer, and
#       SIGTERM must stop it with status 0.
#   (c) Dockerfile, docker-compose.yml (and its commented bridge variant) and docker/kubernetes
#       parsed with PyYAML, the `kubectl kustomize` output when kubectl is installed, and the
#       required fields asserted (tests/ops/check_container_files.py). Without PyYAML only a
#       textual check runs, and the output says so.
# Not done here: `docker build`, `docker compose up`, `kubectl apply` (no engine, no cluster).
#
# Usage: docker_contents_test.sh --source-dir S --daemon build/src/turnpiked
# shellcheck disable=SC2015,SC2016,SC2001  # "test && pass || fail": pass() cannot fail; literal $ in quotes; sed is clearer
set -euo pipefail

source='' daemon=''
while [ $# -gt 0 ]; do
  case $1 in
    --source-dir) source=$2; shift 2 ;;
    --daemon) daemon=$2; shift 2 ;;
    *) echo "usage: $0 --source-dir S --daemon FILE" >&2; exit 2 ;;
  esac
done
source=$(cd "$source" && pwd)
[ -x "$daemon" ] || { echo "FAIL: no daemon binary '$daemon'" >&2; exit 1; }
daemon=$(cd "$(dirname "$daemon")" && pwd)/$(basename "$daemon")
entrypoint=$source/docker/entrypoint.sh
shell=$(command -v dash || command -v sh)

tmp=$(mktemp -d)
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
notes=()

python=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1; then python=$p; break; fi
done
[ -n "$python" ] || { echo "FAIL: python3 is required" >&2; exit 1; }
json_get() { # file python-expression-on-c
  "$python" -c 'import json,sys; c=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# ---------------------------------------------------------------- (a) rendering

fakebin=$tmp/fakebin
mkdir -p "$fakebin"
cat >"$fakebin/turnpiked" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$tmp/fake.args"
env >"$tmp/fake.env"
exit 0
EOF
chmod +x "$fakebin/turnpiked"
# A real pair: --check-config loads the certificate and key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1

secret1=ops-test-secret-0123456789abcdef
api_key=ops-test-api-key-0123456789
base_env=(PATH="$fakebin:/usr/bin:/bin" HOME="$tmp" TURNPIKE_CONFIG="$tmp/etc/turnpike.json"
          TURNPIKE_RUNTIME_DIR="$tmp/run")

run_entrypoint() { # env assignments... -- args...  (sets rc, out)
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  rm -f "$tmp/fake.args" "$tmp/fake.env"
  rc=0
  out=$(env -i "${base_env[@]}" "${envs[@]}" "$shell" "$entrypoint" "$@" 2>&1) || rc=$?
}

# The real daemon must accept what was rendered, with the same environment.
check_config() { # label env assignments...
  local label=$1; shift
  local config
  config=$(sed -n '2p' "$tmp/fake.args")
  local check_out check_rc=0
  check_out=$(env -i "${base_env[@]}" "$@" "$daemon" --config "$config" --check-config 2>&1) ||
    check_rc=$?
  if [ "$check_rc" -eq 0 ] && [ "$check_out" = "config ok" ]; then
    pass "$label: turnpiked --check-config accepts the rendered config"
  else
    fail "$label: turnpiked --check-config (rc=$check_rc): $check_out"
    cat "$config"
  fi
}

echo "=== (a) entrypoint rendering ($shell)"

# 1. Everything set.
full_env=(TURNPIKE_REST_SECRETS=" $secret1 , second-secret-abcdefgh,," TURNPIKE_API_KEYS="web:$api_key"
          TURNPIKE_REALM=example.org TURNPIKE_PUBLIC_IP=203.0.113.7 TURNPIKE_RELAY_ADDRESS=127.0.0.1
          TURNPIKE_RELAY_PORTS=49160-49200 TURNPIKE_TLS_CERT="$tmp/cert.pem"
          TURNPIKE_TLS_KEY="$tmp/key.pem"
          TURNPIKE_CREDENTIALS_HOSTS="turn.example.com, turn2.example.com"
          TURNPIKE_CORS_ORIGINS="https://app.example.com,http://localhost:8080"
          TURNPIKE_LOG_LEVEL=debug)
run_entrypoint "${full_env[@]}" -- --log-level info
rendered=$tmp/run/turnpike.json
if [ "$rc" -eq 0 ] && [ -f "$tmp/fake.args" ]; then
  pass "full: entrypoint ran turnpiked"
  [ "$(cat "$tmp/fake.args")" = "--config
$rendered
--log-level
info" ] && pass "full: args are --config <rendered> + the container's args" ||
    fail "full: args: $(tr '\n' ' ' <"$tmp/fake.args")"
  check_config full "${full_env[@]}"
  # What was rendered, key by key.
  for expect in \
    "c['relay']['address'] == '127.0.0.1'" \
    "c['relay']['advertised_address'] == '203.0.113.7'" \
    "(c['relay']['port_min'], c['relay']['port_max']) == (49160, 49200)" \
    "{'transport': 'tls', 'address': '0.0.0.0', 'port': 443} in c['listeners']" \
    "{'transport': 'udp', 'address': '0.0.0.0', 'port': 3478} in c['listeners']" \
    "{'transport': 'http', 'address': '127.0.0.1', 'port': 9641} in c['listeners']" \
    "c['tls'] == {'certificate': '$tmp/cert.pem', 'private_key': '$tmp/key.pem'}" \
    "c['credentials']['hosts'] == ['turn.example.com', 'turn2.example.com']" \
    "c['credentials']['cors_origins'] == ['https://app.example.com', 'http://localhost:8080']" \
    "c['log']['level'] == 'debug'" \
    "'auth' not in c"; do
    [ "$(json_get "$rendered" "$expect")" = True ] && pass "full: $expect" || fail "full: $expect"
  done
  if grep -q -e "$secret1" -e "$api_key" -e second-secret "$rendered"; then
    fail "full: a secret was written into the rendered file"
  else
    pass "full: no secret in the rendered file (turnpiked reads them from the environment)"
  fi
  [ "$(stat -c %a "$rendered")" = 600 ] && pass "full: rendered file mode 600" ||
    fail "full: rendered file mode $(stat -c %a "$rendered")"
  grep -q '^TURNPIKE_REST_SECRETS=' "$tmp/fake.env" && pass "full: secrets reach turnpiked's environment" ||
    fail "full: TURNPIKE_REST_SECRETS not in turnpiked's environment"
else
  fail "full: entrypoint rc=$rc: $out"
fi

# 2. Only what is required.
min_env=(TURNPIKE_REST_SECRETS="$secret1" TURNPIKE_RELAY_ADDRESS=192.0.2.10)
run_entrypoint "${min_env[@]}" --
if [ "$rc" -eq 0 ] && [ -f "$tmp/fake.args" ]; then
  pass "minimal: entrypoint ran turnpiked"
  check_config minimal "${min_env[@]}"
  for expect in "(c['relay']['port_min'], c['relay']['port_max']) == (49160, 49200)" \
                "'advertised_address' not in c['relay']" "'tls' not in c" \
                "all(l['transport'] != 'tls' for l in c['listeners'])" \
                "c['credentials']['hosts'] == ['192.0.2.10']"; do
    [ "$(json_get "$rendered" "$expect")" = True ] && pass "minimal: $expect" || fail "minimal: $expect"
  done
else
  fail "minimal: entrypoint rc=$rc: $out"
fi

# 3. relay.address detected from `hostname -I` (as in a host-network container).
detected=
for a in $(hostname -I 2>/dev/null || true); do
  if [[ $a =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] && [[ $a != 127.* ]]; then detected=$a; break; fi
done
run_entrypoint TURNPIKE_REST_SECRETS="$secret1" --
if [ -n "$detected" ]; then
  if [ "$rc" -eq 0 ] && [ "$(json_get "$rendered" "c['relay']['address']")" = "$detected" ]; then
    pass "detect: relay.address $detected from hostname -I"
    check_config detect TURNPIKE_REST_SECRETS="$secret1"
  else
    fail "detect: rc=$rc, wanted relay.address $detected: $out"
  fi
else
  [ "$rc" -eq 64 ] && grep -q TURNPIKE_RELAY_ADDRESS <<<"$out" &&
    pass "detect: no address to detect here; refused with a hint" || fail "detect: rc=$rc: $out"
fi

# 4. A mounted config is used as is.
mkdir -p "$tmp/etc"
cp "$source/config/turnpike.json" "$tmp/etc/turnpike.json"
rm -rf "$tmp/run"
run_entrypoint -- --check-config
if [ "$rc" -eq 0 ] && [ "$(sed -n 2p "$tmp/fake.args")" = "$tmp/etc/turnpike.json" ] &&
   [ "$(sed -n 3p "$tmp/fake.args")" = --check-config ] && [ ! -e "$tmp/run/turnpike.json" ]; then
  pass "mounted: the mounted config is passed through, nothing rendered"
else
  fail "mounted: rc=$rc args=$(tr '\n' ' ' <"$tmp/fake.args" 2>/dev/null): $out"
fi
rm -f "$tmp/etc/turnpike.json"

# 5. Other commands run instead of turnpiked.
run_entrypoint -- echo passthrough-works
[ "$rc" -eq 0 ] && [ "$out" = passthrough-works ] && [ ! -f "$tmp/fake.args" ] &&
  pass "command: a non-option argument runs that command" || fail "command: rc=$rc: $out"

# 6. Refusals: exit 64, a message naming the variable, turnpiked never started.
refuse() { # label expected-word env...
  local label=$1 word=$2; shift 2
  run_entrypoint "$@" --
  if [ "$rc" -eq 64 ] && [ ! -f "$tmp/fake.args" ] && grep -q -- "$word" <<<"$out"; then
    pass "refused: $label"
  else
    fail "refused: $label: rc=$rc fake-started=$([ -f "$tmp/fake.args" ] && echo yes || echo no): $out"
  fi
}
refuse "no secrets" TURNPIKE_REST_SECRETS TURNPIKE_RELAY_ADDRESS=192.0.2.10
refuse "blank secrets" TURNPIKE_REST_SECRETS TURNPIKE_REST_SECRETS=" , ," TURNPIKE_RELAY_ADDRESS=192.0.2.10
refuse "placeholder secret" REPLACE-ME TURNPIKE_REST_SECRETS=REPLACE-ME-with-a-long-random-secret \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10
refuse "placeholder API key" REPLACE-ME TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_API_KEYS=web:REPLACE-ME-key TURNPIKE_RELAY_ADDRESS=192.0.2.10
refuse "relay ports not a range" TURNPIKE_RELAY_PORTS TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10 TURNPIKE_RELAY_PORTS=49160
refuse "relay ports reversed" TURNPIKE_RELAY_PORTS TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10 TURNPIKE_RELAY_PORTS=49200-49160
refuse "relay port 0" TURNPIKE_RELAY_PORTS TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10 TURNPIKE_RELAY_PORTS=0-10
refuse "JSON injection in TURNPIKE_PUBLIC_IP" TURNPIKE_PUBLIC_IP TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10 'TURNPIKE_PUBLIC_IP=1.2.3.4", "x": "'
refuse "quote in a host name" TURNPIKE_CREDENTIALS_HOSTS TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10 'TURNPIKE_CREDENTIALS_HOSTS=a"b'
refuse "certificate without key" TURNPIKE_TLS_KEY TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10 TURNPIKE_TLS_CERT="$tmp/cert.pem"
refuse "unreadable certificate" TURNPIKE_TLS_CERT TURNPIKE_REST_SECRETS="$secret1" \
  TURNPIKE_RELAY_ADDRESS=192.0.2.10 TURNPIKE_TLS_CERT="$tmp/missing.pem" TURNPIKE_TLS_KEY="$tmp/key.pem"

# 7. TURNPIKE_WORKERS renders "workers", if this turnpiked knows that key.
printf '{"relay": {"address": "127.0.0.1"}, "auth": {"static_users": {"a": "b"}}, "workers": 1}' \
  >"$tmp/workers-probe.json"
if "$daemon" --config "$tmp/workers-probe.json" --check-config >/dev/null 2>&1; then
  run_entrypoint "${min_env[@]}" TURNPIKE_WORKERS=2 --
  if [ "$rc" -eq 0 ] && [ "$(json_get "$rendered" "c['workers']")" = 2 ]; then
    pass "workers: TURNPIKE_WORKERS=2 rendered"
    check_config workers "${min_env[@]}"
  else
    fail "workers: rc=$rc: $out"
  fi
else
  notes+=("this turnpiked has no \"workers\" key: TURNPIKE_WORKERS not tested")
fi

# ---------------------------------------------------------------- (b) live run

echo "=== (b) live run: entrypoint -> real turnpiked on loopback"
if ! command -v openssl >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  notes+=("openssl or curl missing: live run not done")
else
  realbin=$tmp/realbin
  mkdir -p "$realbin"
  ln -s "$daemon" "$realbin/turnpiked"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/live-key.pem" \
    -out "$tmp/live-cert.pem" >/dev/null 2>&1
  # Three ports free for both UDP and TCP on loopback.
  read -r turn_port tls_port http_port < <("$python" - <<'EOF'
import random, socket
ports = []
while len(ports) < 3:
    p = random.randint(20000, 40000)
    try:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", p)); s.close()
    except OSError:
        continue
    if p not in ports:
        ports.append(p)
print(*ports)
EOF
)
  live_env=(PATH="$realbin:/usr/bin:/bin" HOME="$tmp" TURNPIKE_CONFIG="$tmp/etc/none.json"
            TURNPIKE_RUNTIME_DIR="$tmp/live-run" TURNPIKE_REST_SECRETS="$secret1"
            TURNPIKE_API_KEYS="web:$api_key" TURNPIKE_RELAY_ADDRESS=127.0.0.1
            TURNPIKE_RELAY_PORTS=61000-61040 TURNPIKE_LISTEN_ADDRESS=127.0.0.1
            TURNPIKE_TURN_PORT="$turn_port" TURNPIKE_TLS_PORT="$tls_port"
            TURNPIKE_HTTP_PORT="$http_port" TURNPIKE_TLS_CERT="$tmp/live-cert.pem"
            TURNPIKE_TLS_KEY="$tmp/live-key.pem" TURNPIKE_CREDENTIALS_HOSTS=localhost)
  env -i "${live_env[@]}" "$shell" "$entrypoint" >"$tmp/live.log" 2>&1 &
  daemon_pid=$!
  # The Dockerfile's HEALTHCHECK command, verbatim, with the container's environment.
  health_cmd=$("$python" - "$source/docker/Dockerfile" <<'EOF'
import re, sys
text = re.sub(r"\\\n", " ", open(sys.argv[1]).read())
m = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(.*)$", text, re.M)
print(m.group(1).strip() if m else "")
EOF
)
  healthy=0
  if [ -z "$health_cmd" ]; then
    fail "live: no HEALTHCHECK CMD in the Dockerfile"
  else
    for _ in $(seq 1 50); do
      if env -i PATH=/usr/bin:/bin TURNPIKE_HTTP_PORT="$http_port" sh -c "$health_cmd" >/dev/null 2>&1; then
        healthy=1; break
      fi
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  if [ "$healthy" -eq 1 ]; then
    pass "live: the Dockerfile HEALTHCHECK command succeeds against /healthz"
    comm=$(cat "/proc/$daemon_pid/comm" 2>/dev/null || true)
    [ "$comm" = turnpiked ] && pass "live: the entrypoint exec'd turnpiked (signals reach it)" ||
      fail "live: pid $daemon_pid is '$comm', not turnpiked"
    creds=$(curl -fsS --max-time 5 --cacert "$tmp/live-cert.pem" -H "Authorization: Bearer $api_key" \
      "https://localhost:$tls_port/turn-credentials?ttl=600" 2>&1) || creds=
    if [ -n "$creds" ] && "$python" - "$creds" "$secret1" "$tls_port" "$turn_port" <<'EOF'
import base64, hashlib, hmac, json, sys
c = json.loads(sys.argv[1]); secret, tls_port, turn_port = sys.argv[2:5]
turn = [s for s in c["iceServers"] if "username" in s][0]
assert turn["username"].endswith(":web"), turn["username"]
want = base64.b64encode(hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest()).decode()
assert turn["credential"] == want, "credential does not verify against the first secret"
urls = turn["urls"]
assert f"turns:localhost:{tls_port}?transport=tcp" in urls, urls
assert f"turn:localhost:{turn_port}?transport=udp" in urls, urls
EOF
    then
      pass "live: HTTPS /turn-credentials minted a credential that verifies (hosts, ports from env)"
    else
      fail "live: credential endpoint: $creds"
    fi
    if "$python" - "$turn_port" <<'EOF'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
tid = os.urandom(12)
s.sendto(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid, ("127.0.0.1", int(sys.argv[1])))
data, _ = s.recvfrom(2048)
assert struct.unpack("!H", data[:2])[0] == 0x0101 and data[8:20] == tid
EOF
    then pass "live: STUN Binding answered on the rendered UDP listener"
    else fail "live: no STUN Binding success response"; fi
    metrics=$(curl -fsS --max-time 3 "http://127.0.0.1:$http_port/metrics" 2>&1) || true
    if grep -q '^turnpike_' <<<"$metrics"; then
      pass "live: /metrics on the http listener"
    else
      fail "live: /metrics did not answer: ${metrics:0:300}"
    fi
  else
    fail "live: turnpiked never became healthy"
  fi
  kill -TERM "$daemon_pid" 2>/dev/null || true
  stop_rc=0
  wait "$daemon_pid" || stop_rc=$?
  daemon_pid=
  [ "$stop_rc" -eq 0 ] && pass "live: SIGTERM -> exit 0" || fail "live: exit status $stop_rc after SIGTERM"
  grep -q '^entrypoint: rendered' "$tmp/live.log" && grep -q 'turnpiked ready' "$tmp/live.log" &&
    pass "live: entrypoint and daemon log to stderr (container log)" ||
    fail "live: log lines missing"
  [ "$failures" -eq 0 ] || { echo "--- live log"; cat "$tmp/live.log"; }
fi

# ---------------------------------------------------------------- (c) static checks

echo "=== (c) Dockerfile / compose / Kubernetes"
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -s sh "$entrypoint" && pass "shellcheck docker/entrypoint.sh" ||
    fail "shellcheck docker/entrypoint.sh"
else
  notes+=("shellcheck not installed: entrypoint not linted")
fi
# Runtime packages the image must install: the libraries turnpiked links (base image libs aside).
libs=
if command -v dpkg >/dev/null 2>&1 && command -v readelf >/dev/null 2>&1; then
  if libs=$(bash "$source/tests/ops/lib_packages.sh" "$daemon"); then
    libs=$(grep -v -x -e libc6 -e libstdc++6 -e libgcc-s1 <<<"$libs" | paste -sd, -)
  else
    fail "cannot map turnpiked's libraries to Debian packages"
    libs=
  fi
else
  notes+=("dpkg/readelf missing: the runtime stage's library list was not compared with the binary")
fi
kout=
if command -v kubectl >/dev/null 2>&1; then
  if kubectl kustomize "$source/docker/kubernetes" >"$tmp/kustomize.yaml" 2>"$tmp/kustomize.err"; then
    pass "kubectl kustomize docker/kubernetes"
    kout=$tmp/kustomize.yaml
  else
    fail "kubectl kustomize: $(cat "$tmp/kustomize.err")"
  fi
else
  notes+=("kubectl not installed: kustomization checked file by file, not rendered")
fi
yaml_python=
for p in "$python" /usr/bin/python3; do
  if "$p" -c 'import yaml' 2>/dev/null; then yaml_python=$p; break; fi
done
if [ -n "$yaml_python" ]; then
  if "$yaml_python" "$source/tests/ops/check_container_files.py" --source-dir "$source" \
      ${kout:+--kustomize-output "$kout"} --daemon-libs "$libs"; then
    pass "check_container_files.py"
  else
    fail "check_container_files.py"
  fi
else
  notes+=("PyYAML missing (python3-yaml): only textual checks of the YAML files")
  grep -q '^ *network_mode: host$' "$source/docker/docker-compose.yml" || fail "compose: network_mode host"
  grep -q '^ *hostNetwork: true$' "$source/docker/kubernetes/daemonset.yaml" || fail "hostNetwork"
  [ "$(grep -c 'path: /healthz' "$source/docker/kubernetes/daemonset.yaml")" -ge 2 ] ||
    fail "readiness and liveness probes on /healthz"
  [ "$(grep -c 'secretKeyRef:' "$source/docker/kubernetes/daemonset.yaml")" -ge 2 ] ||
    fail "secret references"
  grep -q '^HEALTHCHECK.*' "$source/docker/Dockerfile" || fail "Dockerfile HEALTHCHECK"
fi

for n in "${notes[@]+"${notes[@]}"}"; do echo "NOTE: $n"; done
if [ "$failures" -ne 0 ]; then
  echo "docker_contents_test: $failures failure(s)"
  exit 1
fi
echo "docker_contents_test: all checks passed (no Docker engine or cluster was used)"
