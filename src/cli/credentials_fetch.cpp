#include "credentials_fetch.h"

#include <charconv>
#include <memory>
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

// An http:// or https:// URL cut into what the request needs.
struct HttpTarget {
  Transport transport = Transport::kTcp;  // kTls for https
  std::string authority;                  // host[:port], also the Host header
  std::string path;
};

bool parse_url(const std::string& url, HttpTarget* out, std::string* error) {
  std::string_view rest = url;
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
    out->transport = Transport::kTls;
  } else {
    *error = "--credentials-url must start with http:// or https://";
    return false;
  }
  const size_t slash = rest.find('/');
  out->authority = std::string(rest.substr(0, slash));
  out->path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  return true;
}

// The TLS context (https) and the connection to the URL's server.
struct HttpConnection {
  SslCtxPtr ctx;
  std::unique_ptr<BlockingConnection> conn;
};

bool connect_http(const HttpTarget& t, const TlsOptions& tls, int timeout_ms, HttpConnection* out,
                  std::string* error) {
  const auto target =
      parse_host_port(t.authority, t.transport == Transport::kTls ? 443 : 80, error);
  if (!target) return false;
  const auto address = resolve(*target, error);
  if (!address) return false;
  if (t.transport == Transport::kTls) {
    out->ctx = make_client_tls_context(tls, error, "http/1.1");
    if (!out->ctx) return false;
  }
  out->conn = BlockingConnection::open(t.transport, *address, target->host, out->ctx.get(),
                                       timeout_ms, error);
  return out->conn != nullptr;
}

std::string make_request(const HttpTarget& t, const std::string& api_key) {
  return "GET " + t.path + " HTTP/1.1\r\nHost: " + t.authority +
         "\r\nAccept: application/json\r\nConnection: close\r\n"
         "User-Agent: turnpike-load\r\n" +
         (api_key.empty() ? "" : "Authorization: Bearer " + api_key + "\r\n") + "\r\n";
}

// True once the response holds its head and a body as long as its Content-Length.
bool response_complete(const std::string& response) {
  const size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  const std::string head = lower(std::string_view(response).substr(0, head_end));
  const size_t cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) return false;
  size_t length = 0;
  const char* p = head.c_str() + cl + 17;
  while (*p == ' ') ++p;
  std::from_chars(p, head.c_str() + head.size(), length);
  return response.size() >= head_end + 4 + length;
}

// Reads until the server closes, the response is complete, kMaxResponse or timeout_ms.
std::string read_response(BlockingConnection& conn, int timeout_ms) {
  std::string response;
  std::vector<uint8_t> buf(16384);
  const int64_t deadline = mono_ns() + int64_t{timeout_ms} * 1'000'000;
  for (int i = 0; i < 10000 && response.size() < kMaxResponse; ++i) {
    const auto left = static_cast<int>((deadline - mono_ns()) / 1'000'000);
    if (left <= 0) break;
    std::string read_error;
    const long n = conn.read_some(buf, left, &read_error);
    if (n <= 0) break;  // closed (the normal end with Connection: close), timeout or error
    response.append(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(n));
    if (response_complete(response)) break;
  }
  return response;
}

// The body of a 200 response, dechunked. false + *error otherwise.
bool response_body(const std::string& response, const std::string& url, std::string* body,
                   std::string* error) {
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
  *body = response.substr(head_end + 4);
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    std::string decoded;
    if (!dechunk(*body, &decoded)) {
      *error = "malformed chunked HTTP body from " + url;
      return false;
    }
    *body = std::move(decoded);
  }
  return true;
}

// {"username": ..., "password" or "credential": ...}.
bool parse_credentials(const std::string& body, const std::string& url, FetchedCredentials* out,
                       std::string* error) {
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

}  // namespace

bool fetch_credentials(const std::string& url, const std::string& api_key, const TlsOptions& tls,
                       int timeout_ms, FetchedCredentials* out, std::string* error) {
  HttpTarget target;
  if (!parse_url(url, &target, error)) return false;
  HttpConnection http;
  if (!connect_http(target, tls, timeout_ms, &http, error)) return false;
  if (!http.conn->write_all(as_bytes(make_request(target, api_key)), timeout_ms, error)) {
    return false;
  }
  const std::string response = read_response(*http.conn, timeout_ms);
  std::string body;
  if (!response_body(response, url, &body, error)) return false;
  return parse_credentials(body, url, out, error);
}

}  // namespace turnpike::cli
