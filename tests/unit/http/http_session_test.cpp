#include "turnpike/http/http_session.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace turnpike::http {
namespace {

const SocketAddress kClient = *SocketAddress::parse("198.51.100.7:40000");
constexpr Now kNow{5000, 1700000000};  // 2023-11-14T22:13:20Z

// Echoes what it saw; the response can be tuned per test.
class RecordingHandler : public Handler {
 public:
  Response handle(const Request& request, const Now& now) override {
    requests.push_back(request);
    last_now = now;
    Response response = next;
    if (response.body.empty()) response.body = "ok:" + request.path;
    return response;
  }
  std::vector<Request> requests;
  Now last_now{};
  Response next{200, {{"Content-Type", "text/plain"}}, "", false};
};

struct Fed {
  bool open;
  std::string out;
};

Fed feed(HttpSession& session, std::string_view bytes) {
  std::string out;
  const bool open = session.feed(as_bytes(bytes), kNow, out);
  return {open, out};
}

size_t count(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// The body of a single response in `out` (after the blank line).
std::string body_of(const std::string& out) {
  const size_t at = out.find("\r\n\r\n");
  return at == std::string::npos ? std::string{} : out.substr(at + 4);
}

TEST(HttpSession, OneRequest) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  const Fed r = feed(session,
                     "GET /turn-credentials?ttl=60&format=twilio HTTP/1.1\r\n"
                     "Host: turn.example.com\r\nX-API-Key:   abc  \r\nACCEPT: */*\r\n\r\n");
  EXPECT_TRUE(r.open);
  EXPECT_EQ(r.out,
            "HTTP/1.1 200 OK\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nContent-Type: text/plain\r\n"
            "Content-Length: 20\r\nConnection: keep-alive\r\n\r\nok:/turn-credentials");
  ASSERT_EQ(handler.requests.size(), 1U);
  const Request& q = handler.requests[0];
  EXPECT_EQ(q.method, "GET");
  EXPECT_EQ(q.path, "/turn-credentials");
  EXPECT_EQ(q.query, "ttl=60&format=twilio");
  EXPECT_EQ(q.client, kClient);
  ASSERT_EQ(q.headers.size(), 3U);
  EXPECT_EQ(q.headers[0], (std::pair<std::string, std::string>{"host", "turn.example.com"}));
  EXPECT_EQ(q.header("x-api-key"), "abc");
  EXPECT_EQ(q.header("accept"), "*/*");
  EXPECT_EQ(q.header("missing"), std::nullopt);
  EXPECT_EQ(handler.last_now.unix_s, kNow.unix_s);
  EXPECT_FALSE(session.mid_request());
  EXPECT_TRUE(session.open());
}

TEST(HttpSession, PostBodyWithContentLengthAndChunked) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  Fed r = feed(session,
               "POST /p HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
               "{\"ttl\":3600}");
  EXPECT_TRUE(r.open);
  r = feed(session,
           "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"
           "0\r\n\r\n");
  EXPECT_TRUE(r.open);
  ASSERT_EQ(handler.requests.size(), 2U);
  EXPECT_EQ(handler.requests[0].body, "{\"ttl\":3600}");
  EXPECT_EQ(handler.requests[1].body, "hello world");
}

TEST(HttpSession, PipelinedRequestsAnsweredInOrder) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  const Fed r = feed(
      session, "GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(r.open);
  ASSERT_EQ(handler.requests.size(), 2U);
  EXPECT_EQ(count(r.out, "HTTP/1.1 200 OK"), 2U);
  const size_t first = r.out.find("ok:/first");
  const size_t second = r.out.find("ok:/second");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  EXPECT_LT(first, second);
}

TEST(HttpSession, SplitByteByByte) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  const std::string request =
      "POST /split?a=b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-Long-Header-Name: value "
      "with spaces\r\n\r\nabcGET /next HTTP/1.1\r\n\r\n";
  std::string out;
  for (size_t i = 0; i < request.size(); ++i) {
    EXPECT_TRUE(session.feed(as_bytes(std::string_view(request).substr(i, 1)), kNow, out));
    if (i == 10) {
      EXPECT_TRUE(session.mid_request());
    }
  }
  ASSERT_EQ(handler.requests.size(), 2U);
  EXPECT_EQ(handler.requests[0].path, "/split");
  EXPECT_EQ(handler.requests[0].query, "a=b");
  EXPECT_EQ(handler.requests[0].body, "abc");
  EXPECT_EQ(handler.requests[0].header("x-long-header-name"), "value with spaces");
  EXPECT_EQ(handler.requests[1].path, "/next");
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 2U);
}

TEST(HttpSession, KeepAliveByDefaultAndConnectionClose) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  Fed r = feed(session, "GET /a HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(r.open);
  EXPECT_NE(r.out.find("Connection: keep-alive\r\n"), std::string::npos);
  // Connection: close ends it; a request pipelined after it is not answered.
  r = feed(session, "GET /b HTTP/1.1\r\nConnection: close\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_NE(r.out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(count(r.out, "HTTP/1.1 "), 1U);
  EXPECT_FALSE(session.open());
  r = feed(session, "GET /d HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(handler.requests.size(), 2U);
}

TEST(HttpSession, Http10ClosesUnlessKeepAlive) {
  RecordingHandler handler;
  HttpSession plain(handler, kClient);
  Fed r = feed(plain, "GET /a HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_NE(r.out.find("Connection: close\r\n"), std::string::npos);

  HttpSession keep(handler, kClient);
  r = feed(keep, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(r.open);
  EXPECT_NE(r.out.find("Connection: keep-alive\r\n"), std::string::npos);
  r = feed(keep, "GET /b HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(r.open);
}

TEST(HttpSession, HandlerCanCloseTheConnection) {
  RecordingHandler handler;
  handler.next.close = true;
  HttpSession session(handler, kClient);
  const Fed r = feed(session, "GET /a HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_NE(r.out.find("Connection: close\r\n"), std::string::npos);
}

TEST(HttpSession, OversizeHeadersGive431ThenClose) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  std::string request = "GET /a HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n";
  Fed r = feed(session, request);
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0U) << r.out;
  EXPECT_NE(r.out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(body_of(r.out))["error"], "headers_too_large");
  EXPECT_TRUE(handler.requests.empty());

  // Many small headers add up too, and so does a long URL.
  HttpSession many(handler, kClient);
  request = "GET /a HTTP/1.1\r\n";
  for (int i = 0; i < 300; ++i) request += "X-H: " + std::string(25, 'b') + "\r\n";
  r = feed(many, request + "\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 431 ", 0), 0U);

  HttpSession url(handler, kClient);
  r = feed(url, "GET /" + std::string(8300, 'u') + " HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 431 ", 0), 0U);

  // Just under the limit is fine.
  HttpSession fits(handler, kClient);
  r = feed(fits, "GET /a HTTP/1.1\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 200 ", 0), 0U);
}

TEST(HttpSession, TooManyHeadersGive431) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  std::string request = "GET /a HTTP/1.1\r\n";
  for (int i = 0; i < 65; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
  const Fed r = feed(session, request + "\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 431 ", 0), 0U);

  HttpSession ok(handler, kClient);
  request = "GET /a HTTP/1.1\r\n";
  for (int i = 0; i < 64; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_TRUE(feed(ok, request + "\r\n").open);
  EXPECT_EQ(handler.requests.back().headers.size(), 64U);
}

TEST(HttpSession, BodyOverLimitGives413) {
  RecordingHandler handler;
  HttpSession declared(handler, kClient);
  Fed r = feed(declared, "POST /a HTTP/1.1\r\nContent-Length: 16385\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0U) << r.out;
  EXPECT_EQ(nlohmann::json::parse(body_of(r.out))["error"], "payload_too_large");

  HttpSession chunked(handler, kClient);
  std::string request = "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) request += "1000\r\n" + std::string(4096, 'x') + "\r\n";
  r = feed(chunked, request);
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 413 ", 0), 0U);

  HttpSession exact(handler, kClient);
  r = feed(exact, "POST /a HTTP/1.1\r\nContent-Length: 16384\r\n\r\n" + std::string(16384, 'y'));
  EXPECT_TRUE(r.open);
  EXPECT_EQ(handler.requests.back().body.size(), 16384U);
  EXPECT_EQ(handler.requests.size(), 1U);
}

TEST(HttpSession, GarbageGives400ThenClose) {
  for (const std::string_view garbage :
       {std::string_view("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
        std::string_view("HELLO WORLD\r\n\r\n"), std::string_view("GET / XTTP/1.1\r\n\r\n"),
        std::string_view("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string_view("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        std::string_view(
            "GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")}) {
    RecordingHandler handler;
    HttpSession session(handler, kClient);
    const Fed r = feed(session, garbage);
    EXPECT_FALSE(r.open) << garbage;
    EXPECT_EQ(r.out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0U) << r.out;
    EXPECT_NE(r.out.find("Content-Type: application/json\r\n"), std::string::npos);
    EXPECT_NE(r.out.find("Connection: close\r\n"), std::string::npos);
    const auto body = nlohmann::json::parse(body_of(r.out));
    EXPECT_EQ(body["error"], "bad_request");
    EXPECT_TRUE(handler.requests.empty());
    std::string more;
    EXPECT_FALSE(session.feed(as_bytes("GET / HTTP/1.1\r\n\r\n"), kNow, more));
    EXPECT_TRUE(more.empty());
  }
}

TEST(HttpSession, GarbageAfterAGoodRequest) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  const Fed r = feed(session, "GET /a HTTP/1.1\r\n\r\n\x01\x02garbage\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_EQ(handler.requests.size(), 1U);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0U);
  EXPECT_NE(r.out.find("HTTP/1.1 400 Bad Request\r\n"), std::string::npos);
}

TEST(HttpSession, UpgradeIsAnsweredThenClosed) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  const Fed r = feed(session,
                     "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                     "\x81\x85"
                     "binary");
  EXPECT_FALSE(r.open);
  EXPECT_EQ(count(r.out, "HTTP/1.1 "), 1U);
  EXPECT_NE(r.out.find("Connection: close\r\n"), std::string::npos);
}

TEST(HttpSession, ExpectContinue) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  Fed r = feed(session, "POST /a HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(r.out, "HTTP/1.1 100 Continue\r\n\r\n");
  r = feed(session, "hi");
  EXPECT_EQ(r.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0U);
  EXPECT_EQ(handler.requests.back().body, "hi");
}

TEST(HttpSession, AbsoluteFormAndAsteriskTargets) {
  RecordingHandler handler;
  HttpSession session(handler, kClient);
  EXPECT_TRUE(feed(session, "GET http://h.example/x/y?q=1 HTTP/1.1\r\n\r\n").open);
  EXPECT_TRUE(feed(session, "OPTIONS * HTTP/1.1\r\n\r\n").open);
  ASSERT_EQ(handler.requests.size(), 2U);
  EXPECT_EQ(handler.requests[0].path, "/x/y");
  EXPECT_EQ(handler.requests[0].query, "q=1");
  EXPECT_EQ(handler.requests[1].path, "*");
}

TEST(HttpSession, ResponseHeadersAreSanitized) {
  RecordingHandler handler;
  handler.next.headers = {{"X-Ok", "fine"},
                          {"X-Injected", "a\r\nSet-Cookie: evil"},
                          {"Content-Length", "999"},
                          {"Connection", "upgrade"}};
  HttpSession session(handler, kClient);
  const Fed r = feed(session, "GET /a HTTP/1.1\r\n\r\n");
  EXPECT_NE(r.out.find("X-Ok: fine\r\n"), std::string::npos);
  EXPECT_EQ(r.out.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(r.out.find("999"), std::string::npos);
  EXPECT_EQ(count(r.out, "Connection: "), 1U);
}

TEST(HttpSession, NoContentHasNoLengthOrBody) {
  RecordingHandler handler;
  handler.next = Response{204, {{"Allow", "GET"}}, "ignored", false};
  HttpSession session(handler, kClient);
  const Fed r = feed(session, "OPTIONS /a HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.out.find("Content-Length"), std::string::npos);
  EXPECT_EQ(r.out.substr(r.out.size() - 4), "\r\n\r\n");
  EXPECT_EQ(r.out.rfind("HTTP/1.1 204 No Content\r\n", 0), 0U);
}

TEST(HttpSession, HandlerExceptionGives500AndClose) {
  class Throwing : public Handler {
   public:
    Response handle(const Request&, const Now&) override { throw std::runtime_error("boom"); }
  } handler;
  HttpSession session(handler, kClient);
  const Fed r = feed(session, "GET /a HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 500 ", 0), 0U);
  EXPECT_EQ(r.out.find("boom"), std::string::npos);
}

TEST(HttpSession, SerializeResponseDirectly) {
  const Response response = json_error(503, "unavailable", "overloaded \"now\"");
  const std::string out = serialize_response(response, false, 0);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Cache-Control: no-store\r\nContent-Length: 54\r\nConnection: close\r\n\r\n"
            R"({"error":"unavailable","message":"overloaded \"now\""})");
}

}  // namespace
}  // namespace turnpike::http
