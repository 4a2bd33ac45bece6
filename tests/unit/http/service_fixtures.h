// Shared by the ServiceHandler tests: a configured handler's inputs and response readers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "turnpike/http/credentials_endpoint.h"

namespace turnpike::http::test {

using nlohmann::json;

inline constexpr std::string_view kMobileKey = "mobile-key-0123456789";
inline constexpr std::string_view kWebKey = "web-key-abcdefghijklmn";
inline constexpr std::string_view kSecret = "rest-secret-1";
inline constexpr int64_t kUnix = 1700000000;  // 2023-11-14T22:13:20Z

inline ServiceConfig base_config() {
  ServiceConfig c;
  c.credentials.api_keys = {{"mobile-app", Secret(std::string(kMobileKey))},
                            {"web", Secret(std::string(kWebKey))}};
  c.credentials.hosts = {"turn.example.com"};
  c.rest_secrets = {Secret(std::string(kSecret)), Secret("older-secret")};
  c.ports = {{Transport::kUdp, 3478}, {Transport::kTcp, 3478}, {Transport::kTls, 443}};
  return c;
}

inline Now at(int64_t seconds_later) { return Now{seconds_later * 1000, kUnix + seconds_later}; }

inline Request get(std::string target, Headers headers = {}, std::string client = "198.51.100.7") {
  Request r;
  r.method = "GET";
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  r.headers = std::move(headers);
  r.client = SocketAddress{*IpAddress::parse(client), 50000};
  return r;
}

inline Request with_key(std::string target, std::string_view key = kMobileKey) {
  return get(std::move(target), {{"authorization", "Bearer " + std::string(key)}});
}

inline Request post(std::string target, std::string content_type, std::string body,
                    std::string_view key = kMobileKey) {
  Request r = with_key(std::move(target), key);
  r.method = "POST";
  r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

inline std::optional<std::string> header(const Response& r, std::string_view name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

inline json body(const Response& r) { return json::parse(r.body); }

inline std::string expected_username(int64_t expiry, std::string_view label) {
  return std::to_string(expiry) + ":" + std::string(label);
}

inline const std::vector<std::string> kTurnUrls = {"turn:turn.example.com:3478?transport=udp",
                                                   "turn:turn.example.com:3478?transport=tcp",
                                                   "turns:turn.example.com:443?transport=tcp"};

}  // namespace turnpike::http::test
