// libFuzzer target: the HTTP side of port 443 — an HttpSession (libhttp-parser: request line,
// headers, bodies, chunked encoding, pipelining, limits) in front of the real ServiceHandler
// (credential endpoint with API keys, anonymous callers and CORS, /healthz, /metrics, per-IP and
// per-key rate limits). The input is the byte stream of one connection, cut into reads at points
// chosen by its first byte. Every response must be a well-formed HTTP/1.1 status line, and no
// byte may be fed after the session said it closes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "turnpike/http/credentials_endpoint.h"
#include "turnpike/http/http_session.h"

using namespace turnpike;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

class FixedMetrics final : public http::MetricsSource {
 public:
  [[nodiscard]] std::string render() const override {
    return "# TYPE turnpike_up gauge\nturnpike_up 1\n";
  }
};

http::ServiceHandler& service() {
  static FixedMetrics metrics;
  static http::ServiceHandler handler = [] {
    http::ServiceConfig c;
    c.credentials.api_keys = {{"mobile-app", Secret("mobile-key-0123456789")},
                              {"web", Secret("web-key-abcdefghijklmn")}};
    c.credentials.anonymous = true;
    c.credentials.cors_origins = {"https://app.example.com"};
    c.credentials.hosts = {"turn.example.com", "[2001:db8::1]"};
    c.credentials.extra_urls = {"turn:turn.example.com:80?transport=tcp"};
    c.credentials.rate_limit.per_ip_per_minute = 1000000;
    c.credentials.rate_limit.per_key_per_minute = 1000000;
    c.rest_secrets = {Secret("rest-secret-1"), Secret("older-secret")};
    c.ports = {{Transport::kUdp, 3478}, {Transport::kTcp, 3478}, {Transport::kTls, 443}};
    c.max_tracked_ips = 64;
    return http::ServiceHandler(std::move(c), &metrics);
  }();
  return handler;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t cut_seed = data[0];
  const ByteView stream(data + 1, size - 1);
  http::ListenerView view(service(), (cut_seed & 0x80) != 0);
  http::HttpSession session(view, SocketAddress{IpAddress::v4(198, 51, 100, 7), 50000});
  const Now now{1'000'000, 1'700'000'000};
  size_t at = 0;
  uint32_t x = cut_seed | 1;
  std::string out;
  bool open = true;
  while (at < stream.size() && open) {
    x = x * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(stream.size() - at, 1 + (x >> 16) % 300);
    out.clear();
    open = session.feed(stream.subspan(at, n), now, out);
    if (!out.empty())
      check(out.starts_with("HTTP/1.1 ") && out.find("\r\n\r\n") != std::string::npos);
    check(open == session.open());
    at += n;
  }
  return 0;
}
