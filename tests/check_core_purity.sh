#!/bin/sh
# The protocol core (util, stun, turn, auth, policy) must not reach for I/O, logging or the wall
# clock: ARCHITECTURE.md keeps those in net/ and daemon/. Fails listing any file that does.
root=${1:-.}
cd "$root" || exit 2
bad=$(grep -rlE '#include *[<"](uv\.h|spdlog)|system_clock|[^_a-z]time\(nullptr\)|gettimeofday|clock_gettime' \
  src/util src/stun src/turn src/auth src/policy \
  include/turnpike/util include/turnpike/stun include/turnpike/turn include/turnpike/auth \
  include/turnpike/policy 2>/dev/null)
if [ -n "$bad" ]; then
  echo "core purity violated by:"; echo "$bad"; exit 1
fi
echo "core purity: ok"
