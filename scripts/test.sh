#!/usr/bin/env bash
# Full local/CI check:
#   1. dependencies (scripts/deps.sh)
#   2. build/      RelWithDebInfo, warnings as errors; every ctest test (unit + integration)
#   3. build-asan/ Debug with AddressSanitizer + UndefinedBehaviorSanitizer; unit tests
# Exits non-zero if any stage fails. Both test stages run even if the first one fails, so one
# run shows everything. Environment: TURNPIKE_JOBS (parallelism, default 2), TURNPIKE_BUILD_DIR
# and TURNPIKE_ASAN_BUILD_DIR (default build and build-asan).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${TURNPIKE_JOBS:-2}
build=${TURNPIKE_BUILD_DIR:-build}
asan=${TURNPIKE_ASAN_BUILD_DIR:-build-asan}
status=0
declare -a summary=()
t_start=$SECONDS

stage() { echo; echo "==== $* ===="; }
record() { summary+=("$(printf '%-44s %s (%ds)' "$1" "$2" "$3")"); }

stage "dependencies"
bash scripts/deps.sh

stage "$build/ (RelWithDebInfo, -Werror)"
t=$SECONDS
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTURNPIKE_WERROR=ON \
  -DTURNPIKE_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j "$jobs"
record "$build/ build" ok $((SECONDS - t))

stage "ctest $build/ (unit + integration)"
t=$SECONDS
# The `lint` label (tests/check_structure.py: libclang over the whole tree, ~90 CPU-s) runs in
# scripts/ci-extended.sh, so this run stays under 15 minutes on 2 cores.
if ctest --test-dir "$build" --output-on-failure -j "$jobs" -LE lint; then
  record "$build/ ctest (unit + integration)" ok $((SECONDS - t))
else
  record "$build/ ctest (unit + integration)" FAILED $((SECONDS - t))
  status=1
fi
# The integration tests print one RESULT line per uclient run (packets, loss, RTT, jitter).
if [ -f "$build/Testing/Temporary/LastTest.log" ]; then
  grep -h '^RESULT ' "$build/Testing/Temporary/LastTest.log" || true
fi

stage "$asan/ (Debug, ASan + UBSan)"
t=$SECONDS
cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DTURNPIKE_SANITIZE=ON -DTURNPIKE_WERROR=ON \
  -DTURNPIKE_BUILD_TESTS=ON >/dev/null
cmake --build "$asan" -j "$jobs" --target unit_tests  # the sanitizer stage runs the unit tests only
record "$asan/ build" ok $((SECONDS - t))

stage "ctest $asan/ -L unit"
t=$SECONDS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if ctest --test-dir "$asan" -L unit --output-on-failure -j "$jobs"; then
  record "$asan/ ctest -L unit" ok $((SECONDS - t))
else
  record "$asan/ ctest -L unit" FAILED $((SECONDS - t))
  status=1
fi

stage "summary"
printf '%s\n' "${summary[@]}"
echo "total: $((SECONDS - t_start)) s"
if [ "$status" -ne 0 ]; then
  echo "test.sh: FAILED"
else
  echo "test.sh: all passed"
fi
exit "$status"
