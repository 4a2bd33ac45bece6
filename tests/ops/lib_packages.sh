#!/usr/bin/env bash
# Prints the Debian packages that provide the shared libraries a binary links directly (its
# DT_NEEDED entries, resolved the way the loader does), one per line, sorted.
# Usage: lib_packages.sh BINARY
set -euo pipefail
binary=$1
needed=$(LC_ALL=C readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
resolved=$(ldd "$binary")
for soname in $needed; do
  path=$(awk -v s="$soname" '$1 == s && $3 ~ /^\// {print $3}' <<<"$resolved")
  [ -n "$path" ] || { echo "lib_packages: $soname not resolved" >&2; exit 1; }
  pkg=
  # Merged /usr: dpkg may know the file under /lib or under /usr/lib, by link or by target.
  for candidate in "$path" "$(readlink -f "$path")"; do
    for p in "$candidate" "${candidate#/usr}" "/usr${candidate}"; do
      pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) || pkg=
      [ -z "$pkg" ] || break 2
    done
  done
  [ -n "$pkg" ] || { echo "lib_packages: no package owns $path" >&2; exit 1; }
  echo "$pkg"
done | sort -u
