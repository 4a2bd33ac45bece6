#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (-fsanitize=fuzzer,address,undefined) into
# build-fuzz/ and runs each one for a bounded time, starting from its seed corpus
# (tests/fuzz/corpus/<target>/, read only: new inputs go to build-fuzz/corpus/<target>/).
# Exits non-zero when a target crashes (the crashing input is kept in build-fuzz/artifacts/<target>/;
# once the bug is fixed, copy it into tests/fuzz/corpus/<target>/regress-<name> so it is replayed
# on every run) or when the build fails. Prints the executions of each target.
#
# Environment: FUZZ_SECONDS (per target, default 30), FUZZ_TARGETS (space-separated subset),
# FUZZ_JOBS (build parallelism, default 1), FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
all_targets="stun_message_fuzz stream_framer_fuzz turn_server_fuzz http_session_fuzz config_fuzz proxy_protocol_fuzz"
targets=${FUZZ_TARGETS:-$all_targets}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found (scripts/deps.sh installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi

echo "==== build ($build, clang, -fsanitize=fuzzer,address,undefined)"
mkdir -p "$build"
cmake -S tests/fuzz -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $targets

status=0
declare -a summary=()
for t in $targets; do
  seeds=tests/fuzz/corpus/$t
  work=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$work" "$artifacts"
  log=$build/$t.log
  echo
  echo "==== $t: ${seconds} s from $(find "$seeds" -type f | wc -l) seed(s) + $(find "$work" -type f | wc -l) kept input(s)"
  # -rss_limit_mb: the server target allocates per input; 2 GB catches leaks without flakiness.
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$build/$t" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "$t: CRASH (exit $rc); last lines of $log:"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|deadly signal' "$log" | head -20 || true
    tail -30 "$log"
    summary+=("$(printf '%-20s CRASH   %12s execs  artifacts in %s' "$t" "${execs:-?}" "$artifacts")")
  else
    summary+=("$(printf '%-20s ok      %12s execs  %8s/s  cov %s' "$t" "${execs:-?}" "${per_s:-?}" "${cov:-?}")")
  fi
done

echo
echo "==== summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
exit "$status"
