#!/usr/bin/env bash
# ops.install_package: the install rules and the .deb.
#   1. `cmake --install --prefix /usr` into a temporary DESTDIR: the expected files and nothing
#      outside /usr and /etc; the installed binary runs and accepts the shipped example config.
#   2. `cpack -G DEB`: control fields (name, Depends, maintainer scripts, conffiles) with
#      `dpkg-deb -I`, the file list and ownership with `dpkg-deb -c`, then `dpkg -x` into a clean
#      directory and run the binaries from there.
#   3. The maintainer scripts: `sh -n`, shellcheck when installed, and postinst run against stub
#      commands: it must create the user and group and must not start the service.
# Nothing is installed on this machine: everything happens under a temporary directory.
#
# Usage: install_package_test.sh --build-dir B --source-dir S [--cmake CMAKE] [--cpack CPACK]
#                                [--expect-cli]
# shellcheck disable=SC2015,SC2016,SC2001  # "test && pass || fail": pass() cannot fail; literal $ in quotes; sed is clearer
set -euo pipefail

build='' source='' cmake_bin=cmake cpack_bin=cpack expect_cli=0
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    --source-dir) source=$2; shift 2 ;;
    --cmake) cmake_bin=$2; shift 2 ;;
    --cpack) cpack_bin=$2; shift 2 ;;
    --expect-cli) expect_cli=1; shift ;;
    *) echo "usage: $0 --build-dir B --source-dir S [--cmake C] [--cpack C] [--expect-cli]" >&2
       exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
source=$(cd "$source" && pwd)
version=$(sed -n 's/^project(turnpike VERSION \([0-9.]*\).*/\1/p' "$source/CMakeLists.txt")
[ -n "$version" ] || { echo "FAIL: cannot read the project version" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
check_file() { if [ -f "$1" ]; then pass "${1#"$2"}"; else fail "missing ${1#"$2"}"; fi; }

expected_files=(
  usr/bin/turnpiked
  etc/turnpike/turnpike.json.example
  usr/lib/systemd/system/turnpiked.service
  usr/share/man/man8/turnpiked.8
  usr/share/doc/turnpike/README.md
  usr/share/doc/turnpike/configuration.md
  usr/share/doc/turnpike/quick-start.md
  usr/share/doc/turnpike/deployment.md
  usr/share/doc/turnpike/mobile-networks.md
  usr/share/doc/turnpike/clients.md
  usr/share/doc/turnpike/migrating.md
  usr/share/doc/turnpike/troubleshooting.md
  usr/share/doc/turnpike/scaling.md
)
if [ "$expect_cli" -eq 1 ]; then
  expected_files+=(usr/bin/turnpike usr/share/man/man1/turnpike.1)
fi

# Checks shared by the DESTDIR tree and the extracted package.
check_tree() { # root label
  local root=$1 label=$2 f
  echo "--- $label"
  for f in "${expected_files[@]}"; do check_file "$root/$f" "$root/"; done
  local stray
  stray=$(cd "$root" && find . -mindepth 1 -maxdepth 1 ! -name usr ! -name etc)
  [ -z "$stray" ] || fail "$label: files outside /usr and /etc: $stray"
  if [ -f "$root/usr/lib/systemd/system/turnpiked.service" ] &&
     ! cmp -s "$root/usr/lib/systemd/system/turnpiked.service" "$source/config/turnpiked.service"; then
    fail "$label: installed unit differs from config/turnpiked.service"
  fi
  if [ -e "$root/etc/turnpike/turnpike.json" ]; then
    fail "$label: ships /etc/turnpike/turnpike.json (the service would start on the example)"
  fi
  if [ -x "$root/usr/bin/turnpiked" ]; then
    local v
    v=$("$root/usr/bin/turnpiked" --version 2>&1) || true
    if [ "$v" = "turnpiked $version" ]; then pass "$label: turnpiked --version = '$v'"
    else fail "$label: turnpiked --version printed '$v' (want 'turnpiked $version')"; fi
    if out=$("$root/usr/bin/turnpiked" --config "$root/etc/turnpike/turnpike.json.example" \
        --check-config 2>&1); then
      pass "$label: the example config passes --check-config"
    else
      fail "$label: the example config fails --check-config: $out"
    fi
  fi
  if [ "$expect_cli" -eq 1 ] && [ -x "$root/usr/bin/turnpike" ]; then
    local v
    v=$("$root/usr/bin/turnpike" --version 2>&1) || true
    if [ "$v" = "turnpike $version" ]; then pass "$label: turnpike --version = '$v'"
    else fail "$label: turnpike --version printed '$v'"; fi
  fi
  if command -v man >/dev/null 2>&1; then
    local page warn
    for page in "$root"/usr/share/man/man*/turnpike*; do
      [ -f "$page" ] || continue
      warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
      if [ -z "$warn" ]; then pass "$label: man -l ${page##*/} renders without warnings"
      else fail "$label: man ${page##*/}: $warn"; fi
    done
  fi
}

# The man pages must document exactly the options the binaries have (`--help`).
check_man_options() { # man-page option-list-command...
  local page=$1; shift
  local have documented
  have=$("$@" 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u)
  documented=$(grep -oE '\\-\\-[a-z][a-z\\-]*' "$page" | sed 's/\\-/-/g' | sort -u)
  local missing extra
  missing=$(comm -23 <(echo "$have") <(echo "$documented") | paste -sd' ' -)
  extra=$(comm -13 <(echo "$have") <(echo "$documented") | paste -sd' ' -)
  if [ -z "$missing" ] && [ -z "$extra" ]; then pass "${page##*/} documents every option"
  else fail "${page##*/}: undocumented options [$missing], documented but unknown [$extra]"; fi
}
turnpike_help() { # all subcommands' --help, plus the top level's
  local bin=$1 sub
  "$bin" --help
  for sub in $("$bin" --help 2>&1 | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}'); do
    "$bin" "$sub" --help
  done
}

# ---- 1. cmake --install into a DESTDIR ----
echo "=== cmake --install --prefix /usr (DESTDIR=$tmp/destdir)"
if ! DESTDIR="$tmp/destdir" "$cmake_bin" --install "$build" --prefix /usr >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  fail "cmake --install failed"
fi
check_tree "$tmp/destdir" "DESTDIR install"
if [ -x "$tmp/destdir/usr/bin/turnpiked" ]; then
  check_man_options "$source/docs/man/turnpiked.8" "$tmp/destdir/usr/bin/turnpiked" --help
fi
if [ "$expect_cli" -eq 1 ] && [ -x "$tmp/destdir/usr/bin/turnpike" ]; then
  check_man_options "$source/docs/man/turnpike.1" turnpike_help "$tmp/destdir/usr/bin/turnpike"
fi

# ---- 2. cpack -G DEB ----
echo "=== cpack -G DEB"
for tool in dpkg-deb dpkg; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP (package part): $tool not found; the DESTDIR install above was checked"
    [ "$failures" -eq 0 ] || exit 1
    exit 77
  fi
done
if ! "$cpack_bin" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log"
  fail "cpack -G DEB failed"
  exit 1
fi
deb=$(find "$tmp/pkg" -maxdepth 1 -name 'turnpike_*.deb' | head -n 1)
if [ -z "$deb" ]; then
  cat "$tmp/cpack.log"
  fail "cpack produced no turnpike_*.deb"
  exit 1
fi
pass "built ${deb##*/}"
arch=$(dpkg --print-architecture)
[ "${deb##*/}" = "turnpike_${version}_${arch}.deb" ] || fail "package file name ${deb##*/}"

info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = turnpike ] && pass "Package: turnpike" || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] && pass "Version: $version" || fail "Version: $(field Version)"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
depends=$(field Depends)
echo "Depends: $depends"
# Package names in Depends (versions and alternatives dropped), one per line.
depends_names=$(sed 's/[,|]/\n/g' <<<"$depends" | sed 's/(.*)//; s/:any//; s/[[:space:]]//g' | sed '/^$/d')
in_depends() { # package: named in Depends, or one of the virtual names it provides is
  local name
  grep -qxF -- "$1" <<<"$depends_names" && return 0
  for name in $(dpkg-query -W -f='${Provides}' "$1" 2>/dev/null | tr ',' '\n' | sed 's/(.*)//'); do
    grep -qxF -- "$name" <<<"$depends_names" && return 0
  done
  return 1
}
for dep in libuv1 libssl3 libc6 passwd; do
  if in_depends "$dep"; then pass "Depends has $dep"; else fail "Depends lacks $dep"; fi
done
# Every shared library the binary links directly must come from a declared dependency.
if command -v readelf >/dev/null 2>&1; then
  if pkgs=$(bash "$source/tests/ops/lib_packages.sh" "$tmp/destdir/usr/bin/turnpiked"); then
    for pkg in $pkgs; do
      if in_depends "$pkg"; then pass "Depends covers $pkg"
      else fail "turnpiked links a library from $pkg, which is not in Depends"; fi
    done
  else
    fail "cannot map turnpiked's libraries to Debian packages"
  fi
fi
for script in postinst prerm postrm conffiles; do
  if grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$script( |$)" <<<"$info"; then
    pass "control member $script"
  else
    fail "no $script in the control archive"
  fi
done

control="$tmp/control"
dpkg-deb -e "$deb" "$control"
if [ "$(cat "$control/conffiles")" = /etc/turnpike/turnpike.json.example ]; then
  pass "conffiles lists the example config"
else
  fail "conffiles: $(cat "$control/conffiles")"
fi
for script in postinst prerm postrm; do
  [ -x "$control/$script" ] || fail "$script is not executable"
  sh -n "$control/$script" || fail "$script: sh -n failed"
  if command -v shellcheck >/dev/null 2>&1; then
    shellcheck -s sh "$control/$script" && pass "shellcheck $script" || fail "shellcheck $script"
  fi
done

listing=$(dpkg-deb -c "$deb")
for f in ./usr/bin/turnpiked ./usr/lib/systemd/system/turnpiked.service \
         ./etc/turnpike/turnpike.json.example ./usr/share/man/man8/turnpiked.8; do
  line=$(awk -v f="$f" '$6 == f' <<<"$listing")
  if [ -z "$line" ]; then fail "dpkg-deb -c: $f missing"; continue; fi
  owner=$(awk '{print $2}' <<<"$line")
  [ "$owner" = root/root ] || fail "$f owned by $owner, not root/root"
done
mode=$(awk '$6 == "./usr/bin/turnpiked" {print $1}' <<<"$listing")
[ "$mode" = -rwxr-xr-x ] && pass "turnpiked mode $mode" || fail "turnpiked mode $mode"

mkdir -p "$tmp/extract"
dpkg -x "$deb" "$tmp/extract"
check_tree "$tmp/extract" "dpkg -x"

# ---- 3. postinst against stubs: creates the user, never starts the service ----
echo "=== postinst configure (fresh install) with stub commands"
stubs="$tmp/stubs"
mkdir -p "$stubs"
calls="$tmp/calls.log"
for cmd in getent groupadd useradd chown chmod chgrp systemctl deb-systemd-helper \
           dpkg-statoverride; do
  cat >"$stubs/$cmd" <<EOF
#!/bin/sh
echo "$cmd \$*" >>"$calls"
case "$cmd \$1" in
  "getent "*) exit 2 ;;               # no such user or group yet
  "dpkg-statoverride "*) exit 1 ;;    # no overrides
  "deb-systemd-helper --quiet") exit 0 ;;  # was-enabled: yes (fresh install)
esac
exit 0
EOF
  chmod +x "$stubs/$cmd"
done
: >"$calls"
if out=$(PATH="$stubs:/usr/bin:/bin" sh "$control/postinst" configure "" 2>&1); then
  pass "postinst configure exited 0"
else
  fail "postinst configure failed: $out"
fi
grep -q '^groupadd --system turnpike$' "$calls" && pass "postinst creates group turnpike" ||
  fail "postinst did not create the group: $(cat "$calls")"
grep -q '^useradd --system .*turnpike$' "$calls" && pass "postinst creates user turnpike" ||
  fail "postinst did not create the user: $(cat "$calls")"
if grep -Eq '^(systemctl|deb-systemd-invoke) .*(start|restart)' "$calls"; then
  fail "postinst starts the service on a fresh install: $(cat "$calls")"
else
  pass "postinst does not start the service"
fi
grep -q 'turnpike.json.example' <<<"$out" && pass "postinst tells the operator what to do next" ||
  fail "postinst printed no next steps: $out"
: >"$calls"
PATH="$stubs:/usr/bin:/bin" sh "$control/prerm" remove >/dev/null 2>&1 ||
  fail "prerm remove failed"
if grep -Eq 'start' "$calls"; then fail "prerm starts something: $(cat "$calls")"; fi

if [ "$failures" -ne 0 ]; then
  echo "install_package_test: $failures failure(s)"
  exit 1
fi
echo "install_package_test: all checks passed"
