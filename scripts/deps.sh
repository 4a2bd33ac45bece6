#!/usr/bin/env bash
# Installs turnpike's build, test and run dependencies from Debian/Ubuntu packages.
# Idempotent: runs apt-get (update + install) only when something is missing.
# coturn is installed only for its client tools (turnutils_uclient/_peer/_stunclient) used by the
# integration tests; turnpike never starts coturn's server.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev libssl-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libhttp-parser-dev libsystemd-dev
  coturn python3 clang-format openssl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
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
echo "deps: done"
