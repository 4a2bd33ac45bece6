#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage functions are only called through run_stage
# The checks CI runs after the default test run (scripts/test.sh), too long for every local run:
#   1. build-asan/  (ASan + UBSan, made by test.sh) also builds turnpiked and turnpike and runs the
#                   integration suite: every real-client test against a sanitized daemon, which
#                   must exit 0 (a leak or UB report fails the test that caused it).
#   2. build-tsan/  ThreadSanitizer build (RelWithDebInfo) running the integration suite: the
#                   daemons there run two workers, SIGHUP reloads, the drain and /metrics.
#   0. ctest -L lint: tests/check_structure.py (file and function lengths, include cycles);
#      build-release/ a plain `cmake -DCMAKE_BUILD_TYPE=Release` build of every target.
#   3. scripts/fuzz.sh: every libFuzzer target for FUZZ_SECONDS (default 60) each, from its seed
#                   corpus (crashers kept there are replayed first).
# Exits non-zero if any stage fails; every stage runs. Environment: TURNPIKE_JOBS (default 2),
# TURNPIKE_ASAN_BUILD_DIR, TURNPIKE_TSAN_BUILD_DIR, FUZZ_SECONDS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${TURNPIKE_JOBS:-2}
asan=${TURNPIKE_ASAN_BUILD_DIR:-build-asan}
tsan=${TURNPIKE_TSAN_BUILD_DIR:-build-tsan}
release=${TURNPIKE_RELEASE_BUILD_DIR:-build-release}
export FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export FUZZ_JOBS=$jobs
status=0
declare -a summary=()
t_start=$SECONDS

stage() { echo; echo "==== $* ===="; }
record() { summary+=("$(printf '%-48s %s (%ds)' "$1" "$2" "$3")"); }
run_stage() {  # name, command...
  local name=$1 t=$SECONDS
  shift
  if "$@"; then
    record "$name" ok $((SECONDS - t))
  else
    record "$name" FAILED $((SECONDS - t))
    status=1
  fi
}

asan_integration() {
  cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DTURNPIKE_SANITIZE=ON -DTURNPIKE_WERROR=ON \
    -DTURNPIKE_BUILD_TESTS=ON >/dev/null
  cmake --build "$asan" -j "$jobs" --target turnpiked turnpike raw_forwarder &&
    ctest --test-dir "$asan" -L integration --output-on-failure -j "$jobs"
}

tsan_integration() {
  # GCC's TSan: warnings that only its instrumentation triggers must not stop the build.
  cmake -S . -B "$tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTURNPIKE_TSAN=ON \
    -DTURNPIKE_WERROR=OFF -DTURNPIKE_BUILD_TESTS=ON >/dev/null
  cmake --build "$tsan" -j "$jobs" --target turnpiked turnpike raw_forwarder &&
    ctest --test-dir "$tsan" -L integration --output-on-failure -j "$jobs"
}

# A user's plain `cmake -DCMAKE_BUILD_TYPE=Release` build, defaults otherwise (warnings are errors
# by default): it must build every target. GCC 12 at -O3 is where false positives appear.
release_build() {
  cmake -S . -B "$release" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$release" -j "$jobs"
}

# Structure limits (files <= 500 lines, functions <= 60 lines, no include cycle), measured by
# libclang: the ctest `lint` label, left out of scripts/test.sh for time.
lint() {
  local dir=${TURNPIKE_BUILD_DIR:-build}
  [ -d "$dir" ] || cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTURNPIKE_BUILD_TESTS=ON >/dev/null
  ctest --test-dir "$dir" -L lint --output-on-failure
}

stage "lint: structure limits"
run_stage "ctest -L lint (tests/check_structure.py)" lint
stage "$release/: a plain Release build"
run_stage "$release/ plain cmake Release build" release_build
stage "$asan/: integration suite under ASan + UBSan"
run_stage "$asan/ ctest -L integration" asan_integration
stage "$tsan/: integration suite under ThreadSanitizer"
run_stage "$tsan/ ctest -L integration" tsan_integration
stage "fuzzing: ${FUZZ_SECONDS} s per target"
run_stage "scripts/fuzz.sh (${FUZZ_SECONDS} s per target)" bash scripts/fuzz.sh

stage "summary"
printf '%s\n' "${summary[@]}"
echo "total: $((SECONDS - t_start)) s"
if [ "$status" -ne 0 ]; then
  echo "ci-extended.sh: FAILED"
else
  echo "ci-extended.sh: all passed"
fi
exit "$status"
