// turnpike stun HOST[:PORT]: STUN Binding requests (RFC 8489 §6) over UDP, TCP or TLS. Prints the
// mapped (reflexive) address and the round-trip times.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "blocking_connection.h"
#include "commands.h"
#include "net_util.h"
#include "turn_messages.h"
#include "turnpike/stun/attributes.h"

namespace turnpike::cli {
namespace {

struct StunOptions {
  std::string target;
  std::string transport = "udp";
  int count = 1;
  int interval_ms = 1000;
  int timeout_ms = 3000;
  bool insecure = false;
  std::string ca_file;
  bool json = false;
};

struct Reply {
  bool ok = false;
  double rtt_ms = 0;
  SocketAddress mapped;
  uint16_t error_code = 0;
  std::string error_reason;
  std::string software;
};

// One Binding transaction: retransmitted over UDP with RTO 500 ms doubling (RFC 8489 §6.2.1),
// sent once over streams; bounded by timeout_ms. false + *error when no response came.
bool binding_transaction(BlockingConnection& c, int timeout_ms, Reply* reply, std::string* error) {
  std::vector<uint8_t> request;
  const stun::TransactionId tid = new_transaction_id();
  stun::MessageBuilder b(request, stun::make_type(stun::Method::kBinding, stun::Class::kRequest),
                         tid);
  b.add_fingerprint();
  const int64_t start = mono_ns();
  const int64_t deadline = start + int64_t{timeout_ms} * 1'000'000;
  int64_t rto_ns = 500'000'000;
  int64_t next_send = start;
  std::vector<uint8_t> frame;
  for (int attempt = 0; attempt < 64; ++attempt) {
    int64_t now = mono_ns();
    if (now >= deadline) break;
    if (now >= next_send) {
      if (!c.write_all(b.bytes(), 2000, error)) return false;
      next_send = c.transport() == Transport::kUdp ? now + rto_ns : deadline;
      rto_ns *= 2;
    }
    now = mono_ns();
    const int64_t until = std::min(next_send, deadline);
    const int wait_ms = static_cast<int>(std::max<int64_t>(1, (until - now) / 1'000'000));
    const auto r = c.read_frame(frame, wait_ms, error);
    if (r == BlockingConnection::Recv::kError) return false;
    if (r == BlockingConnection::Recv::kTimeout) continue;
    const auto msg = stun::MessageView::parse(frame);
    if (!msg || msg->method() != stun::Method::kBinding) continue;
    if (!std::ranges::equal(msg->transaction_id(), tid)) continue;
    const ResponseSummary s = summarize(*msg);
    if (s.cls != stun::Class::kSuccess && s.cls != stun::Class::kError) continue;
    reply->rtt_ms = static_cast<double>(mono_ns() - start) / 1e6;
    if (const auto sw = msg->find(stun::attr::kSoftware)) reply->software = as_string_view(*sw);
    if (s.cls == stun::Class::kError) {
      reply->error_code = s.error_code;
      reply->error_reason = std::string(s.reason);
      return true;
    }
    if (const auto v = msg->find(stun::attr::kXorMappedAddress)) {
      if (auto a = stun::decode_xor_address(*v, msg->transaction_id())) {
        reply->mapped = *a;
        reply->ok = true;
      }
    } else if (const auto m = msg->find(stun::attr::kMappedAddress)) {
      if (auto a = stun::decode_address(*m)) {
        reply->mapped = *a;
        reply->ok = true;
      }
    }
    if (!reply->ok) *error = "Binding success response without a mapped address";
    return reply->ok;
  }
  *error = "no response within " + std::to_string(timeout_ms) + " ms";
  return false;
}

// The server being probed and the connection to it.
struct StunSession {
  Transport transport = Transport::kUdp;
  HostPort target;
  SocketAddress server;
  SslCtxPtr ctx;
  std::unique_ptr<BlockingConnection> conn;
};

// Parses and resolves the target and connects to it. nullopt when connected, else the exit code
// (2 for a malformed target, 1 otherwise) with the error printed.
std::optional<int> open_session(const StunOptions& o, StunSession* s) {
  s->transport = parse_transport(o.transport).value_or(Transport::kUdp);
  std::string error;
  auto target = parse_host_port(o.target, default_port_for(s->transport), &error);
  if (!target) {
    std::fprintf(stderr, "turnpike stun: %s\n", error.c_str());
    return 2;
  }
  s->target = std::move(*target);
  const auto server = resolve(s->target, &error);
  if (!server) {
    std::fprintf(stderr, "turnpike stun: %s\n", error.c_str());
    return 1;
  }
  s->server = *server;
  if (s->transport == Transport::kTls) {
    s->ctx = make_client_tls_context({o.insecure, o.ca_file}, &error);
    if (!s->ctx) {
      std::fprintf(stderr, "turnpike stun: %s\n", error.c_str());
      return 1;
    }
  }
  s->conn = BlockingConnection::open(s->transport, s->server, s->target.host, s->ctx.get(),
                                     o.timeout_ms, &error);
  if (!s->conn) {
    std::fprintf(stderr, "turnpike stun: %s %s: %s\n", transport_name(s->transport),
                 s->server.to_string().c_str(), error.c_str());
    return 1;
  }
  return std::nullopt;
}

void print_reply(int number, const Reply& r) {
  if (r.ok) {
    std::printf("reply %d: mapped address %s, rtt %.3f ms\n", number, r.mapped.to_string().c_str(),
                r.rtt_ms);
  } else {
    std::printf("reply %d: error %u %s, rtt %.3f ms\n", number, r.error_code,
                r.error_reason.c_str(), r.rtt_ms);
  }
  std::fflush(stdout);
}

// Sends o.count Binding requests o.interval_ms apart, printing each outcome unless o.json. One
// Reply per request made; stops early when a stream connection is gone.
std::vector<Reply> send_requests(const StunOptions& o, BlockingConnection& conn) {
  std::vector<Reply> replies;
  std::string error;
  for (int i = 0; i < o.count; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
    Reply r;
    error.clear();
    if (!binding_transaction(conn, o.timeout_ms, &r, &error)) {
      if (!o.json) std::printf("request %d: %s\n", i + 1, error.c_str());
      replies.push_back(r);
      if (conn.transport() != Transport::kUdp && error.find("no response") == std::string::npos) {
        break;  // the stream is gone
      }
      continue;
    }
    if (!o.json) print_reply(i + 1, r);
    replies.push_back(r);
  }
  return replies;
}

struct StunSummary {
  int answered = 0;
  double min_ms = 0, avg_ms = 0, max_ms = 0;
  const Reply* last_ok = nullptr;  // the last reply with a mapped address
};

StunSummary summarize_replies(const std::vector<Reply>& replies) {
  StunSummary sum;
  double sum_ms = 0;
  for (const Reply& r : replies) {
    if (!r.ok) continue;
    ++sum.answered;
    sum.min_ms = sum.last_ok == nullptr ? r.rtt_ms : std::min(sum.min_ms, r.rtt_ms);
    sum.max_ms = std::max(sum.max_ms, r.rtt_ms);
    sum_ms += r.rtt_ms;
    sum.last_ok = &r;
  }
  sum.avg_ms = sum.answered > 0 ? sum_ms / sum.answered : 0;
  return sum;
}

void print_json_report(const StunOptions& o, const StunSession& s, const std::string& local,
                       const StunSummary& sum) {
  nlohmann::json j;
  j["server"] = s.server.to_string();
  j["transport"] = transport_name(s.transport);
  j["local_address"] = local;
  j["requests"] = o.count;
  j["replies"] = sum.answered;
  j["mapped_address"] = sum.last_ok != nullptr ? sum.last_ok->mapped.to_string() : "";
  j["rtt_ms"] = {{"min", sum.min_ms}, {"avg", sum.avg_ms}, {"max", sum.max_ms}};
  if (sum.last_ok != nullptr && !sum.last_ok->software.empty()) {
    j["software"] = sum.last_ok->software;
  }
  std::printf("%s\n", j.dump().c_str());
}

void print_text_report(const StunOptions& o, const StunSummary& sum) {
  if (sum.last_ok == nullptr) {
    std::printf("0/%d replies\n", o.count);
    return;
  }
  std::printf("mapped address: %s\n", sum.last_ok->mapped.to_string().c_str());
  if (!sum.last_ok->software.empty()) {
    std::printf("software: %s\n", sum.last_ok->software.c_str());
  }
  std::printf("%d/%d replies, rtt min/avg/max = %.3f/%.3f/%.3f ms\n", sum.answered, o.count,
              sum.min_ms, sum.avg_ms, sum.max_ms);
}

int run_stun(const StunOptions& o) {
  StunSession s;
  if (const auto rc = open_session(o, &s)) return *rc;
  const std::string local = s.conn->local_address().to_string();
  if (!o.json) {
    std::printf("STUN Binding to %s (%s) over %s from %s\n", s.server.to_string().c_str(),
                s.target.host.c_str(), transport_name(s.transport), local.c_str());
  }
  const std::vector<Reply> replies = send_requests(o, *s.conn);
  const StunSummary sum = summarize_replies(replies);
  if (o.json) {
    print_json_report(o, s, local, sum);
  } else {
    print_text_report(o, sum);
  }
  return sum.answered > 0 ? 0 : 1;
}

}  // namespace

Command add_stun_command(CLI::App& app) {
  auto o = std::make_shared<StunOptions>();
  CLI::App* sub = app.add_subcommand("stun", "STUN Binding request(s): mapped address and RTT");
  sub->add_option("server", o->target, "HOST[:PORT] (default port 3478, 5349 for tls)")->required();
  sub->add_option("--transport,-t", o->transport, "udp, tcp or tls")
      ->check(CLI::IsMember({"udp", "tcp", "tls"}));
  sub->add_option("--count,-c", o->count, "number of requests")->check(CLI::Range(1, 100000));
  sub->add_option("--interval-ms,-i", o->interval_ms, "pause between requests (ms)")
      ->check(CLI::Range(0, 60000));
  sub->add_option("--timeout-ms", o->timeout_ms, "time to wait for each response (ms)")
      ->check(CLI::Range(10, 60000));
  auto* insecure = sub->add_flag("--insecure,-k", o->insecure, "TLS: do not verify the server");
  sub->add_option("--ca", o->ca_file, "TLS: CA bundle to verify the server with")
      ->check(CLI::ExistingFile)
      ->excludes(insecure);
  sub->add_flag("--json", o->json, "print one JSON object");
  return {sub, [o] { return run_stun(*o); }};
}

}  // namespace turnpike::cli
