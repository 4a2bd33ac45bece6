#include "turnpike/http/credentials_endpoint.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "turnpike/auth/rest_credentials.h"
#include "turnpike/config/config_loader.h"
#include "unit/http/service_fixtures.h"

namespace turnpike::http {
namespace {

using namespace turnpike::http::test;  // NOLINT: test fixtures

TEST(ServiceHandler, CorsAllowedRefusedAndPreflight) {
  ServiceConfig c = base_config();
  c.credentials.cors_origins = {"https://app.example.com"};
  ServiceHandler handler(c);

  Request request = with_key("/turn-credentials");
  request.headers.emplace_back("origin", "https://app.example.com");
  Response r = handler.handle(request, at(0));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header(r, "Vary"), "Origin");

  // Errors carry the CORS headers too, so the page can read them.
  Request unauthorized = get("/turn-credentials", {{"origin", "https://app.example.com"}});
  r = handler.handle(unauthorized, at(0));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "https://app.example.com");

  Request other = with_key("/turn-credentials");
  other.headers.emplace_back("origin", "https://evil.example");
  r = handler.handle(other, at(0));
  EXPECT_EQ(r.status, 200);  // the key is valid; the browser will not let the page read it
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), std::nullopt);

  Request preflight =
      get("/turn-credentials", {{"origin", "https://app.example.com"},
                                {"access-control-request-method", "GET"},
                                {"access-control-request-headers", "authorization"}});
  preflight.method = "OPTIONS";
  r = handler.handle(preflight, at(0));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header(r, "Access-Control-Allow-Methods"), "GET, POST, OPTIONS");
  EXPECT_EQ(header(r, "Access-Control-Allow-Headers"), "Authorization, Content-Type, X-API-Key");
  EXPECT_EQ(header(r, "Access-Control-Max-Age"), "600");
  EXPECT_EQ(header(r, "Vary"), "Origin");

  preflight.headers[0].second = "https://evil.example";
  r = handler.handle(preflight, at(0));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body(r)["error"], "forbidden");
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), std::nullopt);

  c.credentials.cors_origins = {"*"};
  handler.update(c);
  r = handler.handle(preflight, at(0));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "https://evil.example");

  c.credentials.cors_origins.clear();
  handler.update(c);
  r = handler.handle(preflight, at(0));
  EXPECT_EQ(r.status, 403);
  r = handler.handle(other, at(0));
  EXPECT_EQ(header(r, "Vary"), std::nullopt);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), std::nullopt);
}

TEST(ServiceHandler, PerIpRateLimitThenRecovery) {
  ServiceConfig c = base_config();
  c.credentials.rate_limit.per_ip_per_minute = 3;
  ServiceHandler handler(c);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(0)).status, 200);
  Response r = handler.handle(with_key("/turn-credentials"), at(0));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), "20");
  EXPECT_EQ(body(r)["error"], "rate_limited");
  // Wrong keys spend the same tokens (no free guessing), other clients are unaffected.
  EXPECT_EQ(handler.handle(with_key("/turn-credentials", "guess-guess-guess-guess"), at(1)).status,
            429);
  Request elsewhere = with_key("/turn-credentials");
  elsewhere.client.ip = *IpAddress::parse("203.0.113.9");
  EXPECT_EQ(handler.handle(elsewhere, at(1)).status, 200);
  // One token comes back every 20 s.
  EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(10)).status, 429);
  EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(21)).status, 200);
  EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(21)).status, 429);
  // /healthz is not limited.
  EXPECT_EQ(handler.handle(get("/healthz"), at(21)).status, 200);
}

TEST(ServiceHandler, Ipv6ClientsAreLimitedPerSlash64) {
  ServiceConfig c = base_config();
  c.credentials.rate_limit.per_ip_per_minute = 1;
  ServiceHandler handler(c);
  const auto from = [](const char* ip) {
    Request r = with_key("/turn-credentials");
    r.client.ip = *IpAddress::parse(ip);
    return r;
  };
  EXPECT_EQ(handler.handle(from("2001:db8:1:2::1"), at(0)).status, 200);
  EXPECT_EQ(handler.handle(from("2001:db8:1:2:ffff::9"), at(0)).status, 429);
  EXPECT_EQ(handler.handle(from("2001:db8:1:3::1"), at(0)).status, 200);
  // IPv4-mapped addresses are limited per IPv4 address, and share the IPv4 budget.
  EXPECT_EQ(handler.handle(from("::ffff:192.0.2.1"), at(0)).status, 200);
  EXPECT_EQ(handler.handle(from("::ffff:192.0.2.2"), at(0)).status, 200);
  EXPECT_EQ(handler.handle(from("192.0.2.2"), at(0)).status, 429);
}

TEST(ServiceHandler, PerKeyRateLimitThenRecovery) {
  ServiceConfig c = base_config();
  c.credentials.rate_limit.per_key_per_minute = 2;
  ServiceHandler handler(c);
  const auto from = [](int n, std::string_view key) {
    Request r = with_key("/turn-credentials", key);
    r.client.ip = IpAddress::v4(203, 0, 113, static_cast<uint8_t>(n));
    return r;
  };
  EXPECT_EQ(handler.handle(from(1, kMobileKey), at(0)).status, 200);
  EXPECT_EQ(handler.handle(from(2, kMobileKey), at(0)).status, 200);
  const Response r = handler.handle(from(3, kMobileKey), at(0));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), "30");
  EXPECT_EQ(handler.handle(from(4, kWebKey), at(0)).status, 200);  // another key
  EXPECT_EQ(handler.handle(from(5, kMobileKey), at(31)).status, 200);
}

TEST(ServiceHandler, PerIpMapStaysBounded) {
  ServiceHandler handler(base_config());
  for (uint32_t i = 0; i < 20000; ++i) {
    Request r = get("/turn-credentials");  // unauthorized: still tracked
    r.client.ip = IpAddress::v4(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                                static_cast<uint8_t>(i));
    EXPECT_EQ(handler.handle(r, at(0)).status, 401);
    ASSERT_LE(handler.tracked_ips(), 10000U);
  }
  EXPECT_EQ(handler.tracked_ips(), 10000U);

  ServiceConfig small = base_config();
  small.max_tracked_ips = 100;
  handler.update(small);
  EXPECT_EQ(handler.tracked_ips(), 100U);
}

TEST(ServiceHandler, TwilioAndCloudflareShapesCarryTheSameCredential) {
  ServiceHandler handler(base_config());
  const std::string username = expected_username(kUnix + 3600, "mobile-app");
  const std::string password = auth::rest_password(kSecret, username);

  const Response twilio =
      handler.handle(with_key("/turn-credentials?format=twilio&ttl=3600"), at(0));
  ASSERT_EQ(twilio.status, 200);
  const json t = body(twilio);
  EXPECT_EQ(t["username"], username);
  EXPECT_EQ(t["password"], password);
  EXPECT_EQ(t["ttl"], "3600");  // a string in Twilio's schema
  EXPECT_EQ(t["date_created"], "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(t["date_updated"], t["date_created"]);
  ASSERT_TRUE(t["account_sid"].is_string());
  EXPECT_TRUE(std::regex_match(t["account_sid"].get<std::string>(), std::regex("AC[0-9a-f]{32}")));
  const json expected_servers = {
      {{"url", "stun:turn.example.com:3478"}, {"urls", "stun:turn.example.com:3478"}},
      {{"url", kTurnUrls[0]},
       {"urls", kTurnUrls[0]},
       {"username", username},
       {"credential", password}},
      {{"url", kTurnUrls[1]},
       {"urls", kTurnUrls[1]},
       {"username", username},
       {"credential", password}},
      {{"url", kTurnUrls[2]},
       {"urls", kTurnUrls[2]},
       {"username", username},
       {"credential", password}}};
  EXPECT_EQ(t["ice_servers"], expected_servers);
  EXPECT_EQ(t.size(), 7U);

  const Response cloudflare =
      handler.handle(with_key("/turn-credentials?format=cloudflare&ttl=3600"), at(0));
  ASSERT_EQ(cloudflare.status, 200);
  const json expected_cf = {
      {"iceServers",
       {{{"urls", {"stun:turn.example.com:3478"}}},
        {{"urls", kTurnUrls}, {"username", username}, {"credential", password}}}}};
  EXPECT_EQ(body(cloudflare), expected_cf);

  EXPECT_EQ(handler.handle(with_key("/turn-credentials?format=xml"), at(0)).status, 400);
}

TEST(ServiceHandler, UrlsFromHostsPortsAndExtras) {
  ServiceConfig c = base_config();
  c.credentials.hosts = {"turn.example.com", "2001:db8::1", "192.0.2.5"};
  c.credentials.extra_urls = {"turn:turn.example.com:80?transport=tcp",
                              "turn:turn.example.com:53?transport=udp",
                              "stun:stun.example.com:19302",
                              "turn:turn.example.com:3478?transport=udp"};  // duplicate: once
  c.ports = {{Transport::kUdp, 3478}, {Transport::kTls, 5349}};
  ServiceHandler handler(c);
  const json b = body(handler.handle(with_key("/turn-credentials"), at(0)));
  EXPECT_EQ(b["iceServers"][0]["urls"],
            json({"stun:turn.example.com:3478", "stun:[2001:db8::1]:3478", "stun:192.0.2.5:3478",
                  "stun:stun.example.com:19302"}));
  EXPECT_EQ(
      b["iceServers"][1]["urls"],
      json({"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp",
            "turn:[2001:db8::1]:3478?transport=udp", "turns:[2001:db8::1]:5349?transport=tcp",
            "turn:192.0.2.5:3478?transport=udp", "turns:192.0.2.5:5349?transport=tcp",
            "turn:turn.example.com:80?transport=tcp", "turn:turn.example.com:53?transport=udp"}));
  EXPECT_EQ(b["uris"], b["iceServers"][1]["urls"]);
}

TEST(ServiceHandler, ServiceConfigFromDaemonConfig) {
  auto parsed = config::parse_config(R"({
    "relay": {"address": "192.0.2.10"},
    "listeners": [{"transport": "udp", "port": 3478}, {"transport": "tcp", "port": 3478},
                  {"transport": "udp", "address": "::", "port": 3478},
                  {"transport": "tls", "port": 443}],
    "auth": {"rest_secrets": ["first-secret", "second"], "rest_separator": "|"},
    "credentials": {"api_keys": [{"label": "app", "key": "app-key-0123456789"}],
                    "hosts": ["turn.example.org"]}})");
  ASSERT_TRUE(parsed);
  const ServiceConfig service = make_service_config(*parsed);
  EXPECT_EQ(service.ports,
            (std::vector<ListenerPort>{
                {Transport::kUdp, 3478}, {Transport::kTcp, 3478}, {Transport::kTls, 443}}));
  ServiceHandler handler(service);
  const Response r = handler.handle(with_key("/turn-credentials", "app-key-0123456789"), at(0));
  ASSERT_EQ(r.status, 200);
  const std::string username = std::to_string(kUnix + 86400) + "|app";
  EXPECT_EQ(body(r)["username"], username);
  EXPECT_EQ(body(r)["password"], auth::rest_password("first-secret", username));
}

TEST(ServiceHandler, UpdateSwapsSecretsAndKeys) {
  ServiceHandler handler(base_config());
  ServiceConfig c = base_config();
  c.rest_secrets = {Secret("rotated-secret")};
  c.credentials.api_keys.erase(c.credentials.api_keys.begin());
  handler.update(c);
  EXPECT_EQ(handler.handle(with_key("/turn-credentials"), at(0)).status, 401);
  const Response r = handler.handle(with_key("/turn-credentials", kWebKey), at(0));
  ASSERT_EQ(r.status, 200);
  const std::string username = body(r)["username"];
  EXPECT_EQ(body(r)["password"], auth::rest_password("rotated-secret", username));

  c.rest_secrets.clear();  // validate() prevents this; the handler still must not mint
  handler.update(c);
  EXPECT_EQ(handler.handle(with_key("/turn-credentials", kWebKey), at(0)).status, 503);
}

TEST(ServiceHandler, NeverEchoesKeysOrSecrets) {
  ServiceConfig c = base_config();
  c.credentials.cors_origins = {"*"};
  ServiceHandler handler(c);
  std::vector<Request> requests = {
      with_key("/turn-credentials"), with_key("/turn-credentials?ttl=bad"),
      with_key("/turn-credentials", kWebKey),
      get("/turn-credentials", {{"x-api-key", "mobile-key-0123456789x"}}), with_key("/nope")};
  for (const Request& request : requests) {
    const Response r = handler.handle(request, at(0));
    for (const std::string_view secret : {kMobileKey, kWebKey, kSecret}) {
      EXPECT_EQ(r.body.find(secret), std::string::npos) << r.body;
      for (const auto& [name, value] : r.headers) EXPECT_EQ(value.find(secret), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace turnpike::http
