// libFuzzer target: the PROXY protocol header parser (v1 text and v2 binary, util/proxy_protocol),
// the first bytes of every connection on a PROXY-protocol listener. The input is the start of such
// a connection. Beyond "no crash", the parser must agree with itself as the bytes arrive:
// StreamConnection feeds it growing prefixes (at most kProxyV2MaxHeader bytes), so for every
// prefix the verdict must be "need more" until the one on the whole input is reached, and from
// then on the same verdict (same length, same source address).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "turnpike/util/proxy_protocol.h"

using namespace turnpike;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  return a.length == b.length && a.source == b.source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, std::min(size, kProxyV2MaxHeader));  // what a connection buffers
  ProxyHeader whole;
  const ProxyParse verdict = parse_proxy(input, whole);
  if (verdict == ProxyParse::kDone) {
    check(whole.length > 0 && whole.length <= input.size());
    check(whole.length <= std::max(kProxyV2MaxHeader, kProxyV1MaxHeader));
    if (whole.source) {
      check(whole.source->ip.family == Family::kIPv4 || whole.source->ip.family == Family::kIPv6);
    }
  }
  (void)parse_proxy_v1(input, whole);  // each version alone, whatever the first byte
  (void)parse_proxy_v2(input, whole);
  ProxyHeader reference;
  (void)parse_proxy(input, reference);
  bool decided = false;  // a prefix already gave the final verdict
  for (size_t n = 0; n <= input.size(); ++n) {
    ProxyHeader header;
    const ProxyParse partial = parse_proxy(input.first(n), header);
    if (partial == ProxyParse::kNeedMore) {
      check(!decided);  // once decided, more bytes never make it undecided again
      continue;
    }
    decided = true;
    check(partial == verdict);  // a prefix's verdict is the whole input's
    if (partial == ProxyParse::kDone) {
      check(same(header, reference));
      check(header.length <= n);
    }
  }
  return 0;
}
