#include "credentials_fetch.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "blocking_connection.h"
#include "net_util.h"

namespace turnpike::cli {
namespace {

constexpr size_t kMaxResponse = 1 << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Decodes a chunked body (RFC 9112 §7.1); false when malformed.
bool dechunk(std::string_view in, std::string* out) {
  out->clear();
  for (int guard = 0; guard < 100000; ++guard) {
    const size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return false;
    size_t size = 0;
    size_t i = 0;
    for (; i < eol; ++i) {
      const char c = in[i];
      int v = -1;
      if (c >= '0' && c <= '9') v = c - '0';
      if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
      if (v < 0) break;  // chunk extensions follow
      size = size * 16 + static_cast<size_t>(v);
      if (size > kMaxResponse) return false;
    }
    if (i == 0) return false;
    if (size == 0) return true;
    if (in.size() < eol + 2 + size) return false;
    out->append(in.substr(eol + 2, size));
    in = in.substr(eol + 2 + size);
    if (in.substr(0, 2) == "\r\n") in = in.substr(2);
  }
  return false;
}

}  // namespace

bool fetch_credentials(const std::string& url, const std::string& api_key, const TlsOptions& tls,
                       int timeout_ms, FetchedCredentials* out, std::string* error) {
  Transport transport = Transport::kTcp;
  std::string_view rest = url;
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
    transport = Transport::kTls;
  } else {
    *error = "--credentials-url must start with http:// or https://";
    return false;
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const auto target = parse_host_port(authority, transport == Transport::kTls ? 443 : 80, error);
  if (!target) return false;
  const auto address = resolve(*target, error);
  if (!address) return false;
  SslCtxPtr ctx;
  if (transport == Transport::kTls) {
    ctx = make_client_tls_context(tls, error, "http/1.1");
    if (!ctx) return false;
  }
  auto conn =
      BlockingConnection::open(transport, *address, target->host, ctx.get(), timeout_ms, error);
  if (!conn) return false;
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + std::string(authority) +
                              "\r\nAccept: application/json\r\nConnection: close\r\n"
                              "User-Agent: turnpike-load\r\n" +
                              (api_key.empty() ? "" : "Authorization: Bearer " + api_key + "\r\n") +
                              "\r\n";
  if (!conn->write_all(as_bytes(request), timeout_ms, error)) return false;
  std::string response;
  std::vector<uint8_t> buf(16384);
  const int64_t deadline = mono_ns() + int64_t{timeout_ms} * 1'000'000;
  for (int i = 0; i < 10000 && response.size() < kMaxResponse; ++i) {
    const auto left = static_cast<int>((deadline - mono_ns()) / 1'000'000);
    if (left <= 0) break;
    std::string read_error;
    const long n = conn->read_some(buf, left, &read_error);
    if (n <= 0) break;  // closed (the normal end with Connection: close), timeout or error
    response.append(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(n));
    const size_t head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    const std::string head = lower(std::string_view(response).substr(0, head_end));
    const size_t cl = head.find("\r\ncontent-length:");
    if (cl == std::string::npos) continue;
    size_t length = 0;
    const char* p = head.c_str() + cl + 17;
    while (*p == ' ') ++p;
    std::from_chars(p, head.c_str() + head.size(), length);
    if (response.size() >= head_end + 4 + length) break;
  }
  const size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    *error = "no complete HTTP response from " + url;
    return false;
  }
  const std::string head = lower(std::string_view(response).substr(0, head_end));
  if (head.rfind("http/1.", 0) != 0 || head.size() < 12 || head.substr(9, 3) != "200") {
    *error = "\"" + response.substr(0, response.find("\r\n")) + "\" from " + url;
    return false;
  }
  std::string body = response.substr(head_end + 4);
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    std::string decoded;
    if (!dechunk(body, &decoded)) {
      *error = "malformed chunked HTTP body from " + url;
      return false;
    }
    body = std::move(decoded);
  }
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("username") || !j["username"].is_string()) {
    *error = "the response from " + url + " is not JSON with a \"username\"";
    return false;
  }
  out->username = j["username"].get<std::string>();
  for (const char* key : {"password", "credential"}) {
    if (j.contains(key) && j[key].is_string()) {
      out->password = j[key].get<std::string>();
      return true;
    }
  }
  *error = "the response from " + url + " has no \"password\" or \"credential\"";
  return false;
}

}  // namespace turnpike::cli
