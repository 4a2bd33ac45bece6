#include "turnpike/http/credentials_endpoint.h"

#include "turnpike/metrics/prometheus.h"

#include <algorithm>
#include <array>
#include <charconv>

#include <nlohmann/json.hpp>

#include "ice_servers.h"
#include "text.h"
#include "turnpike/auth/rest_credentials.h"
#include "turnpike/util/constant_time.h"

namespace turnpike::http {
namespace {

constexpr std::string_view kCredentialMethods = "GET, POST, OPTIONS";
constexpr std::string_view kAllowedRequestHeaders = "Authorization, Content-Type, X-API-Key";
constexpr std::string_view kPreflightMaxAge = "600";
constexpr std::string_view kAnonymousLabel = "anonymous";
constexpr size_t kMaxLabelChars = 64;
constexpr size_t kMaxTtlDigits = 10;

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelChars) return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// IPv6 clients are limited per /64: one host usually owns the whole prefix. IPv4-mapped
// addresses (dual-stack sockets) count as the IPv4 address, not as one shared /64.
IpAddress rate_key(IpAddress ip) {
  if (ip.family != Family::kIPv6) return ip;
  constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), ip.bytes.begin())) {
    return IpAddress::v4(ip.bytes[12], ip.bytes[13], ip.bytes[14], ip.bytes[15]);
  }
  std::fill(ip.bytes.begin() + 8, ip.bytes.end(), uint8_t{0});
  return ip;
}

Response method_not_allowed(std::string_view allow) {
  Response response = json_error(405, "method_not_allowed", "method not allowed on this path");
  response.set_header("Allow", std::string(allow));
  return response;
}

Response rate_limited(uint32_t per_minute) {
  Response response = json_error(429, "rate_limited", "too many requests; retry later");
  // Seconds until the bucket holds one token again.
  const uint32_t seconds = std::max<uint32_t>(1, (60 + per_minute - 1) / per_minute);
  response.set_header("Retry-After", std::to_string(seconds));
  return response;
}

Response bad_request(std::string_view message) { return json_error(400, "bad_request", message); }

struct Params {
  std::optional<std::string> ttl;
  std::optional<std::string> format;
  std::optional<std::string> username;
};

void take_form(const detail::FormFields& fields, Params& params) {
  for (const auto& [name, value] : fields) {
    if (name == "ttl" || name == "Ttl") params.ttl = value;
    if (name == "format") params.format = value;
    if (name == "username") params.username = value;
  }
}

// Reads the query, then the body (which wins). Returns an error response when either is bad.
std::optional<Response> read_params(const Request& request, Params& params) {
  auto query = detail::parse_form(request.query);
  if (!query) return bad_request("malformed query string");
  take_form(*query, params);
  if (request.body.empty()) return std::nullopt;
  const std::string_view type = request.header("content-type").value_or("");
  const std::string_view media = detail::trim_ows(type.substr(0, type.find(';')));
  if (detail::iequals(media, "application/x-www-form-urlencoded")) {
    auto form = detail::parse_form(request.body);
    if (!form) return bad_request("malformed form body");
    take_form(*form, params);
    return std::nullopt;
  }
  if (!detail::iequals(media, "application/json")) {
    return json_error(415, "unsupported_media_type",
                      "send application/json or application/x-www-form-urlencoded");
  }
  const auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return bad_request("body must be a JSON object");
  const auto string_field = [&body](const char* name, std::optional<std::string>& out) {
    const auto it = body.find(name);
    if (it == body.end()) return true;
    if (it->is_string()) out = it->get<std::string>();
    return it->is_string();
  };
  if (const auto it = body.find("ttl"); it != body.end()) {
    if (it->is_number_unsigned()) {
      params.ttl = std::to_string(it->get<uint64_t>());
    } else if (it->is_string()) {
      params.ttl = it->get<std::string>();
    } else {
      return bad_request("ttl must be a positive integer (seconds)");
    }
  }
  if (!string_field("format", params.format)) return bad_request("format must be a string");
  if (!string_field("username", params.username)) return bad_request("username must be a string");
  return std::nullopt;
}

// A requested ttl in seconds: 1 or more; beyond max_ttl it is cut to max_ttl.
std::optional<uint32_t> parse_ttl(std::string_view text, uint32_t max_ttl) {
  if (text.empty()) return std::nullopt;
  if (text.size() > kMaxTtlDigits) {  // too many digits for a number: a (very) long ttl, cut
    const bool digits =
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    const bool zero = text.find_first_not_of('0') == std::string_view::npos;
    if (!digits || zero) return std::nullopt;
    if (text.find_first_not_of('0') + kMaxTtlDigits < text.size()) return max_ttl;
    text.remove_prefix(text.find_first_not_of('0'));
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0) return std::nullopt;
  return static_cast<uint32_t>(std::min<uint64_t>(value, max_ttl));
}

std::optional<detail::Format> parse_format(std::string_view text) {
  if (text.empty() || text == "webrtc" || text == "default") return detail::Format::kDefault;
  if (text == "twilio") return detail::Format::kTwilio;
  if (text == "cloudflare") return detail::Format::kCloudflare;
  return std::nullopt;
}

// The key a caller presents: "Authorization: Bearer <key>", else "X-API-Key: <key>".
std::optional<std::string_view> presented_key(const Request& request) {
  if (auto authorization = request.header("authorization")) {
    constexpr std::string_view kBearer = "bearer ";
    if (authorization->size() > kBearer.size() &&
        detail::iequals(authorization->substr(0, kBearer.size()), kBearer)) {
      return detail::trim_ows(authorization->substr(kBearer.size()));
    }
  }
  if (auto key = request.header("x-api-key"); key && !key->empty()) return key;
  return std::nullopt;
}

}  // namespace

std::vector<ListenerPort> listener_ports(const std::vector<config::Listener>& listeners) {
  std::vector<ListenerPort> ports;
  for (const config::Listener& listener : listeners) {
    if (listener.http_only) continue;  // not a TURN listener
    const ListenerPort port{listener.transport, listener.address.port};
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
  }
  return ports;
}

ServiceConfig make_service_config(const config::Config& config, bool metrics_enabled) {
  ServiceConfig service;
  service.credentials = config.credentials;
  service.rest_secrets = config.auth.rest_secrets;
  service.rest_separator = config.auth.rest_separator;
  service.ports = listener_ports(config.listeners);
  service.metrics_enabled = metrics_enabled;
  return service;
}

ServiceHandler::ServiceHandler(ServiceConfig config, const MetricsSource* metrics)
    : metrics_(metrics) {
  update(std::move(config));
}

void ServiceHandler::update(ServiceConfig config) {
  std::vector<KeyDigest> digests;
  for (size_t i = 0; i < config.credentials.api_keys.size(); ++i) {
    if (config.credentials.api_keys[i].key.empty()) continue;  // never matches anything
    digests.push_back({crypto::sha256(as_bytes(config.credentials.api_keys[i].key.reveal())), i});
  }
  std::lock_guard lock(mutex_);
  if (config.credentials.rate_limit != config_.credentials.rate_limit) {
    ip_buckets_.clear();
    ip_lru_.clear();
    key_buckets_.clear();
  }
  while (ip_buckets_.size() > config.max_tracked_ips && !ip_lru_.empty()) {
    ip_buckets_.erase(ip_lru_.back());
    ip_lru_.pop_back();
  }
  config_ = std::move(config);
  key_digests_ = std::move(digests);
}

void ServiceHandler::set_metrics_source(const MetricsSource* metrics) {
  std::lock_guard lock(mutex_);
  metrics_ = metrics;
}

size_t ServiceHandler::tracked_ips() const {
  std::lock_guard lock(mutex_);
  return ip_buckets_.size();
}

Response ServiceHandler::handle(const Request& request, const Now& now) {
  return handle(request, now, true);
}

Response ServiceHandler::handle(const Request& request, const Now& now, bool metrics_allowed,
                                const MetricsSource* source_override) {
  std::unique_lock lock(mutex_);
  const config::CredentialsConfig& c = config_.credentials;
  if (request.path == c.path && c.enabled()) {
    Response response;
    if (request.method == "OPTIONS") {
      response = preflight(request);
    } else if (request.method == "GET" || request.method == "POST") {
      response = credentials(request, now);
    } else {
      response = method_not_allowed(kCredentialMethods);
    }
    add_cors_headers(request, response);
    ++credential_requests_[response.status];
    return response;
  }
  if (request.path == "/healthz") {
    if (request.method != "GET") return method_not_allowed("GET");
    Response response;
    response.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
    response.body = R"({"status":"ok"})";
    return response;
  }
  if (request.path == "/metrics" && metrics_allowed && config_.metrics_enabled &&
      (metrics_ != nullptr || source_override != nullptr)) {
    if (request.method != "GET") return method_not_allowed("GET");
    const MetricsSource* source = source_override != nullptr ? source_override : metrics_;
    metrics::PrometheusWriter own;
    own.family("turnpike_credential_requests_total", "counter",
               "Requests to the credential endpoint, by HTTP status.");
    for (const auto& [status, count] : credential_requests_) {
      own.sample("turnpike_credential_requests_total", count, {{"status", std::to_string(status)}});
    }
    lock.unlock();  // the source may take its own locks; it must outlive the handler
    Response response;
    response.headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"},
                        {"Cache-Control", "no-store"}};
    response.body = source->render() + own.text();
    return response;
  }
  return json_error(404, "not_found", "no such path");
}

Response ServiceHandler::credentials(const Request& request, const Now& now) {
  const config::CredentialsConfig& c = config_.credentials;
  // Per IP first, so guessing keys costs tokens too.
  if (c.rate_limit.per_ip_per_minute > 0 &&
      !take_ip_token(rate_key(request.client.ip), now.mono_ms)) {
    return rate_limited(c.rate_limit.per_ip_per_minute);
  }
  const Caller caller = authenticate(request);
  if (caller.kind == Caller::Kind::kInvalid ||
      (caller.kind == Caller::Kind::kMissing && !c.anonymous)) {
    Response response = json_error(401, "unauthorized",
                                   caller.kind == Caller::Kind::kInvalid
                                       ? "invalid API key"
                                       : "an API key is required (Authorization: Bearer <key>)");
    response.set_header("WWW-Authenticate", "Bearer");
    return response;
  }
  const bool anonymous = caller.kind == Caller::Kind::kMissing;
  const std::string bucket = anonymous ? std::string(kAnonymousLabel) : caller.label;
  if (c.rate_limit.per_key_per_minute > 0 && !take_key_token(bucket, now.mono_ms)) {
    return rate_limited(c.rate_limit.per_key_per_minute);
  }

  Params params;
  if (auto error = read_params(request, params)) return std::move(*error);
  uint32_t ttl = std::min(c.ttl_s, c.max_ttl_s);
  if (params.ttl) {
    auto requested = parse_ttl(*params.ttl, c.max_ttl_s);
    if (!requested) return bad_request("ttl must be a positive integer (seconds)");
    ttl = *requested;
  }
  const auto format = parse_format(params.format.value_or(""));
  if (!format) return bad_request("format must be twilio or cloudflare (or absent)");
  std::string label = anonymous ? std::string(kAnonymousLabel) : caller.label;
  if (anonymous && params.username) {
    if (!is_label(*params.username)) {
      return bad_request("username must be 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    label = *params.username;
  }
  if (config_.rest_secrets.empty() || config_.rest_secrets.front().empty()) {
    return json_error(503, "unavailable", "no REST secret is configured");
  }

  detail::Minted minted;
  minted.issued_unix = now.unix_s;
  minted.expires_unix = now.unix_s + ttl;
  minted.ttl_s = ttl;
  auto credential = auth::mint_rest_credential(config_.rest_secrets.front().reveal(), label,
                                               minted.expires_unix, config_.rest_separator);
  minted.username = std::move(credential.username);
  minted.password = std::move(credential.password);
  const auto urls = detail::build_urls(c.hosts, config_.ports, c.extra_urls);

  Response response;
  response.headers = {
      {"Content-Type", "application/json"}, {"Cache-Control", "no-store"}, {"Pragma", "no-cache"}};
  response.body = detail::render_credentials(*format, urls, minted);
  return response;
}

ServiceHandler::Caller ServiceHandler::authenticate(const Request& request) const {
  const auto key = presented_key(request);
  if (!key) return {};
  // Digests have one length, so the comparison time says nothing about the keys' lengths; every
  // key is compared, so it says nothing about which one matched either.
  const crypto::Sha256Digest digest = crypto::sha256(as_bytes(*key));
  size_t match = 0;
  bool found = false;
  for (const KeyDigest& known : key_digests_) {
    const bool equal = constant_time_equal(digest, known.digest);
    match = equal ? known.index : match;
    found = found || equal;
  }
  if (!found) return {Caller::Kind::kInvalid, {}};
  return {Caller::Kind::kValid, config_.credentials.api_keys[match].label};
}

Response ServiceHandler::preflight(const Request& request) {
  Response response;
  response.status = 204;
  const auto origin = request.header("origin");
  if (!origin) {  // a plain OPTIONS, not CORS
    response.set_header("Allow", std::string(kCredentialMethods));
    return response;
  }
  if (!origin_allowed(*origin)) {
    return json_error(403, "forbidden", "origin not allowed");
  }
  response.set_header("Access-Control-Allow-Methods", std::string(kCredentialMethods));
  response.set_header("Access-Control-Allow-Headers", std::string(kAllowedRequestHeaders));
  response.set_header("Access-Control-Max-Age", std::string(kPreflightMaxAge));
  return response;
}

bool ServiceHandler::origin_allowed(std::string_view origin) const {
  const auto& allowed = config_.credentials.cors_origins;
  return std::any_of(allowed.begin(), allowed.end(), [origin](const std::string& entry) {
    return entry == "*" || detail::iequals(entry, origin);
  });
}

void ServiceHandler::add_cors_headers(const Request& request, Response& response) const {
  if (config_.credentials.cors_origins.empty()) return;
  response.set_header("Vary", "Origin");
  const auto origin = request.header("origin");
  if (!origin || !origin_allowed(*origin)) return;
  response.set_header("Access-Control-Allow-Origin", std::string(*origin));
  if (response.status == 429) response.set_header("Access-Control-Expose-Headers", "Retry-After");
}

bool ServiceHandler::take_ip_token(const IpAddress& ip, Millis now) {
  auto it = ip_buckets_.find(ip);
  if (it == ip_buckets_.end()) {
    if (config_.max_tracked_ips == 0) return true;
    while (ip_buckets_.size() >= config_.max_tracked_ips && !ip_lru_.empty()) {
      ip_buckets_.erase(ip_lru_.back());  // the least recently seen client starts afresh
      ip_lru_.pop_back();
    }
    const double per_minute = config_.credentials.rate_limit.per_ip_per_minute;
    ip_lru_.push_front(ip);
    it = ip_buckets_
             .emplace(ip,
                      IpEntry{policy::TokenBucket(per_minute / 60.0, per_minute), ip_lru_.begin()})
             .first;
  } else {
    ip_lru_.splice(ip_lru_.begin(), ip_lru_, it->second.lru);
  }
  return it->second.bucket.try_take(now);
}

bool ServiceHandler::take_key_token(const std::string& label, Millis now) {
  auto it = key_buckets_.find(label);
  if (it == key_buckets_.end()) {
    // Bounded: labels come from the config (plus "anonymous"), never from the request.
    const double per_minute = config_.credentials.rate_limit.per_key_per_minute;
    it = key_buckets_.emplace(label, policy::TokenBucket(per_minute / 60.0, per_minute)).first;
  }
  return it->second.try_take(now);
}

}  // namespace turnpike::http
