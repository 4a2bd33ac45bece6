#include "turnpike/http/credentials_endpoint.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "turnpike/auth/rest_credentials.h"
#include "unit/http/service_fixtures.h"

namespace turnpike::http {
namespace {

using namespace turnpike::http::test;  // NOLINT: test fixtures

TEST(ServiceHandler, ValidKeyGivesTheExactDefaultShape) {
  ServiceHandler handler(base_config());
  const Response r = handler.handle(with_key("/turn-credentials"), at(0));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  const std::string username = expected_username(kUnix + 86400, "mobile-app");
  const std::string password = auth::rest_password(kSecret, username);
  const json expected = {
      {"iceServers",
       {{{"urls", {"stun:turn.example.com:3478"}}},
        {{"urls", kTurnUrls}, {"username", username}, {"credential", password}}}},
      {"ttl", 86400},
      {"expiresAt", "2023-11-15T22:13:20Z"},
      {"username", username},
      {"password", password},
      {"uris", kTurnUrls}};
  EXPECT_EQ(body(r), expected) << r.body;
  // The top-level object lists iceServers first (ordered output, as documented).
  EXPECT_EQ(r.body.rfind(R"({"iceServers":[{"urls":["stun:turn.example.com:3478"]},)", 0), 0U);
}

TEST(ServiceHandler, KeyHeadersAndLabels) {
  ServiceHandler handler(base_config());
  Response r =
      handler.handle(get("/turn-credentials", {{"x-api-key", std::string(kWebKey)}}), at(0));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["username"], expected_username(kUnix + 86400, "web"));
  r = handler.handle(
      get("/turn-credentials", {{"authorization", "bEaReR   " + std::string(kWebKey)}}), at(0));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["username"], expected_username(kUnix + 86400, "web"));
  const std::string expiresAt = body(r)["expiresAt"];
  EXPECT_TRUE(std::regex_match(expiresAt, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

TEST(ServiceHandler, TtlShortensAndIsClampedToMaxTtl) {
  ServiceHandler handler(base_config());
  Response r = handler.handle(with_key("/turn-credentials?ttl=3600"), at(0));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["ttl"], 3600);
  EXPECT_EQ(body(r)["username"], expected_username(kUnix + 3600, "mobile-app"));
  EXPECT_EQ(body(r)["expiresAt"], "2023-11-14T23:13:20Z");
  r = handler.handle(with_key("/turn-credentials?ttl=999999"), at(0));
  EXPECT_EQ(body(r)["ttl"], 86400);
  EXPECT_EQ(body(r)["username"], expected_username(kUnix + 86400, "mobile-app"));

  ServiceConfig c = base_config();
  c.credentials.ttl_s = 600;
  c.credentials.max_ttl_s = 7200;
  handler.update(c);
  EXPECT_EQ(body(handler.handle(with_key("/turn-credentials"), at(0)))["ttl"], 600);
  EXPECT_EQ(body(handler.handle(with_key("/turn-credentials?ttl=7000"), at(0)))["ttl"], 7000);
  EXPECT_EQ(body(handler.handle(with_key("/turn-credentials?ttl=7201"), at(0)))["ttl"], 7200);

  // A number too long for any ttl is a (very) long ttl: cut to max_ttl like any other.
  EXPECT_EQ(body(handler.handle(with_key("/turn-credentials?ttl=12345678901"), at(0)))["ttl"],
            7200);
  EXPECT_EQ(body(handler.handle(with_key("/turn-credentials?ttl=000000000060"), at(0)))["ttl"], 60);
  for (const std::string bad :
       {"abc", "0", "-5", "1.5", "", "00000000000", "1234567890x1", "60s"}) {
    r = handler.handle(with_key("/turn-credentials?ttl=" + bad), at(0));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(body(r)["error"], "bad_request");
  }
}

TEST(ServiceHandler, PostBodies) {
  ServiceHandler handler(base_config());
  Response r =
      handler.handle(post("/turn-credentials", "application/json", R"({"ttl": 600})"), at(0));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["ttl"], 600);
  // The body wins over the query.
  r = handler.handle(post("/turn-credentials?ttl=60", "application/json; charset=utf-8",
                          R"({"ttl": "900", "format": "cloudflare"})"),
                     at(0));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r).size(), 1U);  // the Cloudflare shape
  r = handler.handle(post("/turn-credentials", "application/x-www-form-urlencoded", "Ttl=1200"),
                     at(0));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["ttl"], 1200);
  r = handler.handle(post("/turn-credentials", "application/json", ""), at(0));
  EXPECT_EQ(r.status, 200);

  EXPECT_EQ(handler.handle(post("/turn-credentials", "application/json", "{"), at(0)).status, 400);
  EXPECT_EQ(handler.handle(post("/turn-credentials", "application/json", "[1]"), at(0)).status,
            400);
  EXPECT_EQ(
      handler.handle(post("/turn-credentials", "application/json", R"({"ttl": -1})"), at(0)).status,
      400);
  EXPECT_EQ(handler.handle(post("/turn-credentials", "application/json", R"({"ttl": 1.5})"), at(0))
                .status,
            400);
  EXPECT_EQ(handler.handle(post("/turn-credentials", "application/json", R"({"format": 1})"), at(0))
                .status,
            400);
  EXPECT_EQ(handler.handle(post("/turn-credentials", "text/plain", "ttl=5"), at(0)).status, 415);
  EXPECT_EQ(
      handler
          .handle(post("/turn-credentials", "application/x-www-form-urlencoded", "ttl=%zz"), at(0))
          .status,
      400);
}

TEST(ServiceHandler, MissingOrWrongKeyIs401) {
  ServiceHandler handler(base_config());
  std::vector<Request> requests = {
      get("/turn-credentials"),
      with_key("/turn-credentials", "wrong-key-0123456789"),
      with_key("/turn-credentials", std::string(kMobileKey) + "x"),
      with_key("/turn-credentials", kMobileKey.substr(0, 10)),
      get("/turn-credentials", {{"authorization", "Basic " + std::string(kMobileKey)}}),
      get("/turn-credentials", {{"authorization", "Bearer"}}),
      get("/turn-credentials", {{"x-api-key", ""}}),
  };
  for (const Request& request : requests) {
    const Response r = handler.handle(request, at(0));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer");
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    EXPECT_EQ(body(r)["error"], "unauthorized");
    EXPECT_TRUE(body(r)["message"].is_string());
    EXPECT_EQ(r.body.find("key-0123"), std::string::npos) << r.body;
  }
}

TEST(ServiceHandler, AnonymousMode) {
  ServiceConfig c = base_config();
  c.credentials.anonymous = true;
  ServiceHandler handler(c);
  Response r = handler.handle(get("/turn-credentials"), at(0));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["username"], expected_username(kUnix + 86400, "anonymous"));
  r = handler.handle(get("/turn-credentials?username=alice.b-1"), at(0));
  EXPECT_EQ(body(r)["username"], expected_username(kUnix + 86400, "alice.b-1"));
  EXPECT_EQ(body(r)["password"],
            auth::rest_password(kSecret, expected_username(kUnix + 86400, "alice.b-1")));
  for (const std::string& bad :
       std::vector<std::string>{"", "a%3Ab", "a%20b", std::string(65, 'x')}) {
    EXPECT_EQ(handler.handle(get("/turn-credentials?username=" + bad), at(0)).status, 400) << bad;
  }
  // A key still picks its label (and ?username= cannot override it); a wrong key is refused.
  r = handler.handle(with_key("/turn-credentials?username=alice"), at(0));
  EXPECT_EQ(body(r)["username"], expected_username(kUnix + 86400, "mobile-app"));
  EXPECT_EQ(handler.handle(with_key("/turn-credentials", "nope-nope-nope-nope"), at(0)).status,
            401);

  // Anonymous alone (no keys) enables the endpoint.
  c.credentials.api_keys.clear();
  handler.update(c);
  EXPECT_EQ(handler.handle(get("/turn-credentials"), at(0)).status, 200);
}

TEST(ServiceHandler, NotFoundAndMethodNotAllowed) {
  ServiceHandler handler(base_config());
  Response r = handler.handle(with_key("/nope"), at(0));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body(r)["error"], "not_found");
  EXPECT_EQ(handler.handle(with_key("/turn-credentials/"), at(0)).status, 404);
  Request del = with_key("/turn-credentials");
  del.method = "DELETE";
  r = handler.handle(del, at(0));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, POST, OPTIONS");
  EXPECT_EQ(body(r)["error"], "method_not_allowed");
  Request put = get("/healthz");
  put.method = "PUT";
  r = handler.handle(put, at(0));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET");

  // Without keys and without anonymous mode the endpoint does not exist.
  ServiceConfig off = base_config();
  off.credentials.api_keys.clear();
  handler.update(off);
  EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(0)).status, 404);
}

TEST(ServiceHandler, CustomPath) {
  ServiceConfig c = base_config();
  c.credentials.path = "/api/ice";
  ServiceHandler handler(c);
  EXPECT_EQ(handler.handle(with_key("/api/ice"), at(0)).status, 200);
  EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(0)).status, 404);
}

TEST(ServiceHandler, Healthz) {
  ServiceHandler handler(base_config());
  const Response r = handler.handle(get("/healthz"), at(0));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r), json({{"status", "ok"}}));
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
}

class FixedMetrics : public MetricsSource {
 public:
  std::string render() const override {
    return "# TYPE turnpike_allocations gauge\nturnpike_allocations 3\n";
  }
};

TEST(ServiceHandler, Metrics) {
  ServiceHandler handler(base_config());
  EXPECT_EQ(handler.handle(get("/metrics"), at(0)).status, 404);  // no source
  FixedMetrics metrics;
  handler.set_metrics_source(&metrics);
  Response r = handler.handle(get("/metrics"), at(0));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body.substr(0, metrics.render().size()), metrics.render());
  // The handler appends its own counter: credential requests by status.
  EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(0)).status, 200);
  EXPECT_EQ(handler.handle(get("/turn-credentials"), at(0)).status, 401);
  EXPECT_EQ(handler.handle(get("/turn-credentials"), at(0)).status, 401);
  r = handler.handle(get("/metrics"), at(0));
  EXPECT_NE(r.body.find("turnpike_credential_requests_total{status=\"200\"} 1\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("turnpike_credential_requests_total{status=\"401\"} 2\n"),
            std::string::npos);
  ServiceConfig c = base_config();
  c.metrics_enabled = false;
  handler.update(c);
  EXPECT_EQ(handler.handle(get("/metrics"), at(0)).status, 404);
  ServiceHandler with_source(base_config(), &metrics);
  EXPECT_EQ(with_source.handle(get("/metrics"), at(0)).status, 200);
  // Per listener: a view without metrics hides them, and shares everything else.
  ListenerView internal(with_source, true);
  ListenerView public_port(with_source, false);
  EXPECT_EQ(internal.handle(get("/metrics"), at(0)).status, 200);
  EXPECT_EQ(public_port.handle(get("/metrics"), at(0)).status, 404);
  EXPECT_EQ(public_port.handle(with_key("/turn-credentials"), at(0)).status, 200);
}

TEST(ServiceHandler, EndToEndThroughHttpSession) {
  ServiceHandler handler(base_config());
  HttpSession session(handler, *SocketAddress::parse("198.51.100.7:1234"));
  std::string out;
  const std::string request =
      "GET /turn-credentials?ttl=60 HTTP/1.1\r\nHost: turn.example.com\r\n"
      "Authorization: Bearer " +
      std::string(kMobileKey) + "\r\n\r\n";
  EXPECT_TRUE(session.feed(as_bytes(request), at(0), out));
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0U);
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(out.find("Cache-Control: no-store\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: keep-alive\r\n"), std::string::npos);
  const json b = json::parse(out.substr(out.find("\r\n\r\n") + 4));
  EXPECT_EQ(b["ttl"], 60);
  EXPECT_EQ(b["username"], expected_username(kUnix + 60, "mobile-app"));
}

}  // namespace
}  // namespace turnpike::http
