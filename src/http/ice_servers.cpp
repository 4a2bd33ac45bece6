#include "ice_servers.h"

#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

#include "text.h"

namespace turnpike::http::detail {
namespace {

using Json = nlohmann::ordered_json;

// Placeholder in the Twilio shape: "AC" + 32 hex digits, as Twilio SIDs are.
constexpr std::string_view kAccountSid = "AC00000000000000000000000000000000";

void add_unique(std::vector<std::string>& list, std::string url) {
  if (std::find(list.begin(), list.end(), url) == list.end()) list.push_back(std::move(url));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

std::string dump(const Json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string url_host(const std::string& host) {
  if (host.find(':') != std::string::npos && !starts_with(host, "[")) return "[" + host + "]";
  return host;
}

IceUrls build_urls(const std::vector<std::string>& hosts, const std::vector<ListenerPort>& ports,
                   const std::vector<std::string>& extra) {
  IceUrls urls;
  for (const std::string& name : hosts) {
    const std::string host = url_host(name);
    const auto at = [&host](uint16_t port) { return host + ":" + std::to_string(port); };
    for (const ListenerPort& p : ports) {
      if (p.transport != Transport::kTls) add_unique(urls.stun, "stun:" + at(p.port));
    }
    for (const ListenerPort& p : ports) {
      if (p.transport == Transport::kUdp)
        add_unique(urls.turn, "turn:" + at(p.port) + "?transport=udp");
    }
    for (const ListenerPort& p : ports) {
      if (p.transport == Transport::kTcp)
        add_unique(urls.turn, "turn:" + at(p.port) + "?transport=tcp");
    }
    for (const ListenerPort& p : ports) {
      if (p.transport == Transport::kTls)
        add_unique(urls.turn, "turns:" + at(p.port) + "?transport=tcp");
    }
  }
  for (const std::string& url : extra) {
    if (starts_with(url, "stun:") || starts_with(url, "stuns:")) {
      add_unique(urls.stun, url);
    } else {
      add_unique(urls.turn, url);
    }
  }
  return urls;
}

std::string render_credentials(Format format, const IceUrls& urls, const Minted& minted) {
  if (format == Format::kTwilio) {
    // One entry per URL; "urls" is a string there, "url" its legacy twin (REFERENCES 2b).
    Json servers = Json::array();
    for (const std::string& url : urls.stun) servers.push_back({{"url", url}, {"urls", url}});
    for (const std::string& url : urls.turn) {
      servers.push_back({{"url", url},
                         {"urls", url},
                         {"username", minted.username},
                         {"credential", minted.password}});
    }
    Json body;
    body["username"] = minted.username;
    body["password"] = minted.password;
    body["ttl"] = std::to_string(minted.ttl_s);
    body["account_sid"] = kAccountSid;
    body["ice_servers"] = std::move(servers);
    body["date_created"] = format_rfc2822(minted.issued_unix);
    body["date_updated"] = format_rfc2822(minted.issued_unix);
    return dump(body);
  }

  Json servers = Json::array();
  if (!urls.stun.empty()) servers.push_back({{"urls", urls.stun}});
  if (!urls.turn.empty()) {
    servers.push_back(
        {{"urls", urls.turn}, {"username", minted.username}, {"credential", minted.password}});
  }
  Json body;
  body["iceServers"] = std::move(servers);
  if (format == Format::kCloudflare) return dump(body);

  // RTCConfiguration's iceServers plus the draft's flat fields (REFERENCES 2c, 2d).
  body["ttl"] = minted.ttl_s;
  body["expiresAt"] = format_rfc3339(minted.expires_unix);
  body["username"] = minted.username;
  body["password"] = minted.password;
  body["uris"] = urls.turn;
  return dump(body);
}

}  // namespace turnpike::http::detail
