#!/usr/bin/env bash
# Installs turnpike's build, test and run dependencies from Debian/Ubuntu packages.
# Idempotent: runs apt-get (update + install) only when something is missing.
# coturn is installed only for its client tools (turnutils_uclient/_peer/_stunclient) used by the
# integration tests; turnpike never starts coturn's server.
set -euo pipefail

# `--run-only` (scripts/run.sh): what building and running turnpiked and turnpike needs, nothing
# for the tests (no browser, fuzzer, coturn or npm).
run_only=0
[ "${1:-}" = "--run-only" ] && run_only=1
run_packages=(
  build-essential cmake pkg-config
  libuv1-dev libssl-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libhttp-parser-dev libsystemd-dev openssl curl
)
packages=(
  "${run_packages[@]}"
  libgtest-dev libgmock-dev libbenchmark-dev
  coturn python3 clang-format
  chromium libnss3-tools iptables iproute2
  python3-aiortc python3-av python3-numpy  # tests/e2e/aiortc: aiortc client-matrix tests
  systemd python3-yaml file  # tests/ops: systemd-analyze verify, YAML checks, CPack shlibdeps
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer targets (tests/fuzz)
  python3-clang-14  # tests/check_structure.py: function lengths measured by libclang
)

# Browser e2e tests (tests/e2e): playwright-core from npm with the machine's Node.js (never
# apt-installs nodejs/npm; never downloads a browser: Debian's chromium above is used).
install_e2e_node_modules() {
  local e2e_dir want have
  e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "deps: node/npm not found: the e2e browser tests will be skipped (they need Node.js >= 20)" >&2
    return 0
  fi
  want="$(node -p "require('$e2e_dir/package-lock.json').packages['node_modules/playwright-core'].version")"
  have="$(node -p "try { require('$e2e_dir/node_modules/playwright-core/package.json').version } catch { '' }")"
  if [ "$want" = "$have" ]; then
    echo "deps: playwright-core $have present in tests/e2e/node_modules"
    return 0
  fi
  echo "deps: npm ci in tests/e2e (playwright-core $want)"
  (cd "$e2e_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund)
}

if [ "$run_only" -eq 1 ]; then
  packages=("${run_packages[@]}")
  install_e2e_node_modules() { :; }
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  install_e2e_node_modules
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

for p in "${missing[@]}"; do
  if [ "$p" = coturn ] && command -v systemctl >/dev/null 2>&1 &&
     systemctl is-active --quiet coturn 2>/dev/null; then
    echo "deps: note: installing coturn started its server (coturn.service), which may hold" \
         "UDP 3478. turnpike only needs coturn's client tools; to stop it:" \
         "sudo systemctl disable --now coturn" >&2
  fi
done
install_e2e_node_modules
echo "deps: done"
