// Private to the HTTP module: the ICE server URLs and the three JSON shapes of a credential
// response (RTCIceServer + draft-uberti-behave-turn-rest-00, Twilio tokens, Cloudflare).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "turnpike/http/credentials_endpoint.h"

namespace turnpike::http::detail {

struct IceUrls {
  std::vector<std::string> stun;  // "stun:host:3478"
  std::vector<std::string> turn;  // "turn:host:3478?transport=udp", "turns:host:443?transport=tcp"
};

// For each host (IPv6 literals get brackets): stun: for every UDP/TCP port, then turn: for UDP,
// turn: for TCP, turns: for TLS ports. `extra` URLs are added verbatim (stun:/stuns: ones to the
// STUN list, the others to the TURN list), skipping duplicates.
IceUrls build_urls(const std::vector<std::string>& hosts, const std::vector<ListenerPort>& ports,
                   const std::vector<std::string>& extra);

// "2001:db8::1" -> "[2001:db8::1]"; names and IPv4 stay as they are.
std::string url_host(const std::string& host);

enum class Format { kDefault, kTwilio, kCloudflare };

struct Minted {
  std::string username;
  std::string password;
  int64_t issued_unix = 0;
  int64_t expires_unix = 0;
  uint32_t ttl_s = 0;
};

std::string render_credentials(Format format, const IceUrls& urls, const Minted& minted);

}  // namespace turnpike::http::detail
