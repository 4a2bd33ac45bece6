#!/bin/sh
# The protocol core (util, stun, turn, auth, policy, metrics) must not reach for I/O, logging,
# clocks or the environment: ARCHITECTURE.md keeps those in net/ and daemon/, and the core gets
# time passed in (util/time.h). Fails listing every line that does.
root=${1:-.}
cd "$root" || exit 2
dirs="src/util src/stun src/turn src/auth src/policy src/metrics include/turnpike/util
  include/turnpike/stun include/turnpike/turn include/turnpike/auth include/turnpike/policy
  include/turnpike/metrics"
status=0
check() {  # what, extended regex
  # shellcheck disable=SC2086
  hits=$(grep -rnE "$2" $dirs 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "core purity violated ($1):"
    echo "$hits"
    status=1
  fi
}
check "event loop or logging" '#include *[<"](uv\.h|spdlog)'
check "clocks" 'system_clock|steady_clock|high_resolution_clock|[^_a-z]time\(nullptr\)|std::time\(|gettimeofday|clock_gettime|[^_a-zA-Z.>]clock\(\)'
check "stdio" '#include *<(cstdio|stdio\.h|iostream|fstream)>|std::(cout|cerr|clog)|(^|[^n])printf\(|fopen|fwrite\(|puts\('
check "environment" 'getenv|setenv|unsetenv|putenv|[^_a-z]environ\b'
[ "$status" -eq 0 ] && echo "core purity: ok"
exit "$status"
