#include "turnpike/http/http_session.h"

#include <http_parser.h>

#include <exception>

#include "text.h"

namespace turnpike::http {
namespace {

constexpr size_t kRequestLineOverhead = 12;  // " " + " HTTP/1.1" + CRLF
constexpr size_t kHeaderOverhead = 4;        // ": " + CRLF

bool has_forbidden_char(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_managed_header(std::string_view name) {
  return detail::iequals(name, "content-length") || detail::iequals(name, "connection") ||
         detail::iequals(name, "date") || detail::iequals(name, "transfer-encoding");
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

void Response::set_header(std::string name, std::string value) {
  for (auto& [key, existing] : headers) {
    if (detail::iequals(key, name)) {
      existing = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

Response json_error(int status, std::string_view code, std::string_view message) {
  Response response;
  response.status = status;
  response.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  response.body = detail::json_error_body(code, message);
  return response;
}

std::string serialize_response(const Response& response, bool keep_alive, int64_t unix_s) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += reason_phrase(response.status);
  out += "\r\n";
  if (unix_s > 0) out += "Date: " + detail::format_http_date(unix_s) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || is_managed_header(name) || has_forbidden_char(name) ||
        has_forbidden_char(value) || name.find(':') != std::string::npos) {
      continue;
    }
    out += name + ": " + value + "\r\n";
  }
  // RFC 9110 §8.6: no Content-Length (and no content) in 1xx and 204 responses.
  const bool has_content = response.status >= 200 && response.status != 204;
  if (has_content) out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (has_content) out += response.body;
  return out;
}

struct HttpSession::Impl {
  Impl(Handler& h, SocketAddress c, HttpLimits l) : handler(h), client(c), limits(l) {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    http_parser_settings_init(&settings);
    settings.on_message_begin = &Impl::on_message_begin;
    settings.on_url = &Impl::on_url;
    settings.on_header_field = &Impl::on_header_field;
    settings.on_header_value = &Impl::on_header_value;
    settings.on_headers_complete = &Impl::on_headers_complete;
    settings.on_body = &Impl::on_body;
    settings.on_message_complete = &Impl::on_message_complete;
  }

  static Impl& self(http_parser* p) { return *static_cast<Impl*>(p->data); }

  // Callbacks return 0 to go on; -1 stops the parser with an error (error_status says which).
  int fail(int status) {
    error_status = status;
    return -1;
  }

  bool head_too_big() const { return head_bytes > limits.max_head_bytes; }

  static int on_message_begin(http_parser* p) {
    Impl& s = self(p);
    s.request = Request{};
    s.request.client = s.client;
    s.url.clear();
    s.head_bytes = kRequestLineOverhead;
    s.in_value = false;
    s.in_message = true;
    return 0;
  }

  static int on_url(http_parser* p, const char* at, size_t length) {
    Impl& s = self(p);
    s.head_bytes += length;
    if (s.head_too_big()) return s.fail(431);
    s.url.append(at, length);
    return 0;
  }

  static int on_header_field(http_parser* p, const char* at, size_t length) {
    Impl& s = self(p);
    s.head_bytes += length;
    if (s.in_value || s.request.headers.empty()) {
      if (s.request.headers.size() >= s.limits.max_headers) return s.fail(431);
      s.request.headers.emplace_back();
      s.head_bytes += kHeaderOverhead;
      s.in_value = false;
    }
    if (s.head_too_big()) return s.fail(431);
    s.request.headers.back().first += detail::to_lower(std::string_view(at, length));
    return 0;
  }

  static int on_header_value(http_parser* p, const char* at, size_t length) {
    Impl& s = self(p);
    s.head_bytes += length;
    if (s.head_too_big()) return s.fail(431);
    s.request.headers.back().second.append(at, length);
    s.in_value = true;
    return 0;
  }

  static int on_headers_complete(http_parser* p) {
    Impl& s = self(p);
    s.head_bytes += std::string_view(http_method_str(static_cast<http_method>(p->method))).size();
    if (s.head_too_big()) return s.fail(431);
    for (auto& header : s.request.headers) {
      header.second = std::string(detail::trim_ows(header.second));
    }
    s.request.method = http_method_str(static_cast<http_method>(p->method));
    if (!s.split_url(p->method == HTTP_CONNECT)) return s.fail(400);
    if ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > s.limits.max_body_bytes) {
      return s.fail(413);
    }
    const auto expect = s.request.header("expect");
    if (expect && detail::iequals(*expect, "100-continue") && p->http_major == 1 &&
        p->http_minor >= 1) {
      s.out->append("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return 0;
  }

  bool split_url(bool is_connect) {
    if (url == "*") {  // OPTIONS * HTTP/1.1
      request.path = url;
      return true;
    }
    http_parser_url parts{};
    http_parser_url_init(&parts);
    if (http_parser_parse_url(url.data(), url.size(), is_connect ? 1 : 0, &parts) != 0) {
      return false;
    }
    const auto field = [&](http_parser_url_fields f) -> std::string {
      if ((parts.field_set & (1U << f)) == 0) return {};
      return url.substr(parts.field_data[f].off, parts.field_data[f].len);
    };
    request.path = field(UF_PATH);
    if (request.path.empty()) request.path = "/";
    request.query = field(UF_QUERY);
    return true;
  }

  static int on_body(http_parser* p, const char* at, size_t length) {
    Impl& s = self(p);
    if (s.request.body.size() + length > s.limits.max_body_bytes) return s.fail(413);
    s.request.body.append(at, length);
    return 0;
  }

  static int on_message_complete(http_parser* p) {
    Impl& s = self(p);
    s.in_message = false;
    Response response;
    try {
      response = s.handler.handle(s.request, *s.now);
    } catch (const std::exception&) {
      response = json_error(500, "internal_error", "the request could not be handled");
      response.close = true;
    }
    // An upgrade (CONNECT, WebSocket) would switch protocols: not offered, so end after this.
    const bool keep_alive = http_should_keep_alive(p) != 0 && !response.close && p->upgrade == 0;
    s.out->append(serialize_response(response, keep_alive, s.now->unix_s));
    if (!keep_alive) {
      s.closed = true;
      return -1;  // stop parsing: anything pipelined after this request is dropped
    }
    return 0;
  }

  void respond_error(int status) {
    Response response;
    switch (status) {
      case 413:
        response = json_error(413, "payload_too_large", "the request body is too large");
        break;
      case 431:
        response =
            json_error(431, "headers_too_large", "the request line or headers are too large");
        break;
      default:
        response = json_error(400, "bad_request", "malformed HTTP request");
        break;
    }
    out->append(serialize_response(response, false, now->unix_s));
    closed = true;
    in_message = false;
  }

  Handler& handler;
  SocketAddress client;
  HttpLimits limits;
  http_parser parser{};
  http_parser_settings settings{};
  Request request;
  std::string url;
  size_t head_bytes = 0;
  bool in_value = false;
  bool in_message = false;
  bool closed = false;
  int error_status = 0;
  const Now* now = nullptr;
  std::string* out = nullptr;
};

HttpSession::HttpSession(Handler& handler, SocketAddress client, HttpLimits limits)
    : impl_(std::make_unique<Impl>(handler, client, limits)) {}

HttpSession::~HttpSession() = default;

bool HttpSession::feed(ByteView bytes, const Now& now, std::string& out) {
  Impl& s = *impl_;
  if (s.closed) return false;
  if (bytes.empty()) return true;  // zero bytes would tell the parser the stream ended
  s.now = &now;
  s.out = &out;
  const std::string_view text = as_string_view(bytes);
  http_parser_execute(&s.parser, &s.settings, text.data(), text.size());
  if (!s.closed && HTTP_PARSER_ERRNO(&s.parser) != HPE_OK) {
    const http_errno error = HTTP_PARSER_ERRNO(&s.parser);
    s.respond_error(error == HPE_HEADER_OVERFLOW ? 431
                                                 : (s.error_status != 0 ? s.error_status : 400));
  }
  s.now = nullptr;
  s.out = nullptr;
  return !s.closed;
}

bool HttpSession::open() const noexcept { return !impl_->closed; }

bool HttpSession::mid_request() const noexcept { return impl_->in_message; }

}  // namespace turnpike::http
