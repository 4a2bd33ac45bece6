// A sans-I/O HTTP/1.1 server connection over libhttp-parser: bytes in, response bytes out. The
// transport owns the socket (or TLS session) and the clock; this owns parsing, limits, keep-alive
// and pipelining, and hands each complete request to a Handler.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"
#include "turnpike/util/time.h"

namespace turnpike::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/turn-credentials" (no query)
  std::string query;   // "ttl=3600&format=twilio" (no '?'; not decoded)
  Headers headers;     // names lower-cased, values trimmed, in arrival order
  std::string body;
  SocketAddress client;

  // First value of a header (name in lower case), or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  int status = 200;
  // Content-Type and the like. Content-Length, Connection and Date are added by HttpSession
  // (values given here for them are ignored); headers with CR, LF or NUL in them are dropped.
  Headers headers;
  std::string body;
  bool close = false;  // close the connection after this response

  void set_header(std::string name, std::string value);
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual Response handle(const Request& request, const Now& now) = 0;
};

struct HttpLimits {
  size_t max_head_bytes = 8 * 1024;  // request line + headers
  size_t max_headers = 64;
  size_t max_body_bytes = 16 * 1024;
};

// One connection. Requests are answered in order (pipelining works: several requests in one
// feed give several responses in `out`). Errors close the connection after their response:
//   malformed request -> 400, head > max_head_bytes or > max_headers -> 431,
//   body > max_body_bytes -> 413.
// HTTP/1.0 closes after the response unless the request says "Connection: keep-alive"; HTTP/1.1
// stays open unless it says "Connection: close". Not thread-safe (one per connection).
class HttpSession {
 public:
  HttpSession(Handler& handler, SocketAddress client, HttpLimits limits = {});
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Feeds received bytes; appends complete responses to `out`. Returns false when the connection
  // should be closed once `out` has been written; bytes fed after that are ignored.
  bool feed(ByteView bytes, const Now& now, std::string& out);

  // True until a response that closes the connection has been produced.
  [[nodiscard]] bool open() const noexcept;
  // True while part of a request has been received but not answered (for idle timeouts: an idle
  // keep-alive connection may be closed silently, a half-received request may get a 408).
  [[nodiscard]] bool mid_request() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Serializes a response ("HTTP/1.1 <status> <reason>" + headers + body). Adds Content-Length,
// Connection (keep-alive or close) and, when unix_s > 0, Date. Used by HttpSession; public for
// transports that must answer without a session (e.g. 503 when overloaded).
std::string serialize_response(const Response& response, bool keep_alive, int64_t unix_s);

// A JSON error response: {"error": code, "message": message} with Content-Type application/json
// and Cache-Control no-store. Every error this module produces has this shape.
Response json_error(int status, std::string_view code, std::string_view message);

// Reason phrase for the status codes this module produces ("Too Many Requests").
std::string_view reason_phrase(int status) noexcept;

}  // namespace turnpike::http
