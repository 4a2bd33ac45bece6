// turnpike load SERVER[:PORT] --peer ADDR:PORT: N concurrent TURN allocations relaying test
// packets to a UDP echo peer (`turnpike peer`, turnutils_peer), measuring allocation rate,
// throughput, loss, reordering, duplicates and RTT. See docs/cli.md.
#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "commands.h"
#include "credentials_fetch.h"
#include "load_runner.h"
#include "net_util.h"
#include "turnpike/auth/rest_credentials.h"

namespace turnpike::cli {
namespace {

struct LoadOptions {
  std::string server;
  std::string peer;
  std::string transport = "udp";
  uint32_t allocations = 1;
  uint64_t packets = 100;
  uint32_t size = 100;
  double rate = 50;
  bool flood = false;
  uint32_t window = 64;
  double duration_s = 30;
  bool channel = false;
  bool send_indication = false;
  std::string user;
  std::string password;
  std::string secret;
  std::string credentials_url;
  std::string api_key;
  std::string separator = ":";
  bool json = false;
  bool insecure = false;
  std::string ca_file;
  bool expect_zero_loss = false;
  bool no_progress = false;
  bool raw = false;
  uint32_t setup_concurrency = 0;
  double hold_s = 0;
};

constexpr uint32_t kMaxSize = 65000;  // fits a Data indication and a UDP datagram

int usage_error(const std::string& message) {
  std::fprintf(stderr, "turnpike load: %s\n", message.c_str());
  return 2;
}

// Fills shared.username/password from --user/--password, --secret (or env TURNPIKE_SECRET) or
// --credentials-url. Returns an exit code on error, 0 when done.
int resolve_credentials(const LoadOptions& o, LoadShared& shared) {
  std::string secret = o.secret;
  const bool have_static = !o.password.empty();
  if (secret.empty() && !have_static && o.credentials_url.empty()) {
    if (const char* env = std::getenv("TURNPIKE_SECRET")) secret = env;
  }
  const int kinds =
      (have_static ? 1 : 0) + (!secret.empty() ? 1 : 0) + (!o.credentials_url.empty() ? 1 : 0);
  if (kinds != 1) {
    return usage_error(
        "give exactly one of --user U --password P, --secret S (or env TURNPIKE_SECRET), "
        "--credentials-url URL");
  }
  if (have_static) {
    if (o.user.empty()) return usage_error("--password needs --user");
    shared.username = o.user;
    shared.password = o.password;
    return 0;
  }
  if (!secret.empty()) {
    if (o.separator.size() != 1) return usage_error("--separator must be one character");
    const int64_t ttl = std::max<int64_t>(3600, static_cast<int64_t>(o.duration_s) + 600);
    const auto c = auth::mint_rest_credential(secret, o.user.empty() ? "turnpike-load" : o.user,
                                              unix_seconds() + ttl, o.separator[0]);
    shared.username = c.username;
    shared.password = c.password;
    return 0;
  }
  FetchedCredentials fetched;
  std::string error;
  if (!fetch_credentials(o.credentials_url, o.api_key, {o.insecure, o.ca_file}, 10000, &fetched,
                         &error)) {
    std::fprintf(stderr, "turnpike load: credentials: %s\n", error.c_str());
    return 1;
  }
  shared.username = fetched.username;
  shared.password = fetched.password;
  return 0;
}

// One socket per allocation: lets the open-file limit go up towards its hard limit when the run
// needs more than the soft one (the default soft limit is often 1024).
void raise_open_file_limit(uint32_t allocations) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(allocations) + 64;
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= wanted) return;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, lim.rlim_max);
  setrlimit(RLIMIT_NOFILE, &lim);
}

double seconds_of(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// The option combinations CLI11 cannot check. 0 when valid, else the usage error's exit code.
int check_options(const LoadOptions& o, Transport transport) {
  if (o.raw && transport != Transport::kUdp) return usage_error("--raw works over udp only");
  if (o.raw && o.send_indication) return usage_error("--raw sends ChannelData only");
  if (o.size < kPayloadHeader || o.size > kMaxSize) {
    return usage_error("--size must be " + std::to_string(kPayloadHeader) + ".." +
                       std::to_string(kMaxSize) + " bytes");
  }
  return 0;
}

struct LoadEndpoints {
  HostPort server_hp;
  SocketAddress server;
  SocketAddress peer;
};

// Parses and resolves SERVER and --peer. 0 when done, else the usage error's exit code.
int resolve_endpoints(const LoadOptions& o, Transport transport, LoadEndpoints* out) {
  std::string error;
  const auto server_hp = parse_host_port(o.server, default_port_for(transport), &error);
  if (!server_hp) return usage_error(error);
  const auto server = resolve(*server_hp, &error);
  if (!server) return usage_error(error);
  const auto peer_hp = parse_host_port(o.peer, 0, &error);
  if (!peer_hp || peer_hp->port == 0) {
    return usage_error("--peer needs ADDR:PORT" + (error.empty() ? "" : ": " + error));
  }
  const auto peer = resolve(*peer_hp, &error);
  if (!peer) return usage_error(error);
  out->server_hp = *server_hp;
  out->server = *server;
  out->peer = *peer;
  return 0;
}

// What every allocation shares (the credentials are filled in by resolve_credentials).
void describe_allocations(const LoadOptions& o, Transport transport, const LoadEndpoints& ends,
                          SSL_CTX* ssl_ctx, LoadShared& shared) {
  shared.transport = transport;
  shared.server = ends.server;
  shared.server_host = ends.server_hp.host;
  shared.peer = ends.peer;
  shared.ssl_ctx = ssl_ctx;
  shared.channel_mode = !o.send_indication;
  shared.raw = o.raw;
  shared.size = o.size;
  shared.packets = o.packets;
  shared.lifetime_s = 600;
}

RunSettings run_settings(const LoadOptions& o) {
  RunSettings settings;
  settings.allocations = o.allocations;
  settings.rate_pps = o.rate;
  settings.flood = o.flood;
  settings.window = o.window;
  settings.duration_s = o.duration_s;
  settings.setup_concurrency = o.setup_concurrency;
  settings.hold_s = o.hold_s;
  settings.progress = !o.no_progress && isatty(STDERR_FILENO) == 1;
  return settings;
}

// The run's description and the CPU time this process used.
void add_run_details(const LoadOptions& o, const LoadShared& shared, const LoadEndpoints& ends,
                     LoadReport& report) {
  report.server = ends.server.to_string();
  report.peer = ends.peer.to_string();
  report.transport = transport_name(shared.transport);
  report.mode = o.raw ? "raw" : shared.channel_mode ? "channel" : "send-indication";
  report.hold_s = o.hold_s;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    report.cpu_user_s = seconds_of(usage.ru_utime);
    report.cpu_system_s = seconds_of(usage.ru_stime);
  }
}

// Prints the report (text or JSON) and returns the exit code.
int print_result(const LoadOptions& o, const LoadReport& report) {
  const bool ran = report.ready == o.allocations && (o.packets == 0 || report.sent > 0);
  const bool loss_ok = !o.expect_zero_loss || (report.loss() == 0 && report.sent > 0);
  if (o.json) {
    nlohmann::json j = report.to_json();
    j["ok"] = ran && loss_ok;
    std::printf("%s\n", j.dump().c_str());
  } else {
    report.print(stdout);
    if (!ran) std::printf("  result       FAILED: not every allocation got ready\n");
    if (ran && !loss_ok) std::printf("  result       FAILED: loss with --expect-zero-loss\n");
  }
  std::fflush(stdout);
  return ran && loss_ok ? 0 : 1;
}

int run_load(const LoadOptions& o) {
  const Transport transport = parse_transport(o.transport).value_or(Transport::kUdp);
  if (const int rc = check_options(o, transport); rc != 0) return rc;
  auto shared = std::make_unique<LoadShared>();
  LoadEndpoints ends;
  if (const int rc = resolve_endpoints(o, transport, &ends); rc != 0) return rc;
  if (!o.raw) {
    if (const int rc = resolve_credentials(o, *shared); rc != 0) return rc;
  }
  raise_open_file_limit(o.allocations);

  SslCtxPtr ctx;
  if (transport == Transport::kTls) {
    std::string error;
    ctx = make_client_tls_context({o.insecure, o.ca_file}, &error);
    if (!ctx) {
      std::fprintf(stderr, "turnpike load: %s\n", error.c_str());
      return 1;
    }
  }
  describe_allocations(o, transport, ends, ctx.get(), *shared);

  LoadRunner runner(*shared, run_settings(o));
  LoadReport report = runner.run();
  add_run_details(o, *shared, ends, report);
  return print_result(o, report);
}

}  // namespace

Command add_load_command(CLI::App& app) {
  auto o = std::make_shared<LoadOptions>();
  CLI::App* sub = app.add_subcommand("load", "TURN load generator: N allocations to an echo peer");
  sub->add_option("server", o->server, "SERVER[:PORT] (default port 3478, 5349 for tls)")
      ->required();
  sub->add_option("--peer", o->peer, "ADDR:PORT of the UDP echo peer")->required();
  sub->add_option("--transport,-t", o->transport, "udp, tcp or tls (client to server)")
      ->check(CLI::IsMember({"udp", "tcp", "tls"}));
  sub->add_option("--allocations,-n", o->allocations, "concurrent allocations (default 1)")
      ->check(CLI::Range(1u, 10000u));
  sub->add_option("--packets,-m", o->packets, "packets per allocation, 0 = until --duration")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1000000000}));
  sub->add_option("--size,-l", o->size, "payload bytes per packet (20..65000, default 100)");
  auto* rate = sub->add_option("--rate", o->rate, "packets/s per allocation (default 50)")
                   ->check(CLI::Range(0.001, 1e6));
  auto* flood = sub->add_flag("--flood", o->flood, "send as fast as the window allows");
  rate->excludes(flood);
  sub->add_option("--window", o->window, "--flood: packets in flight per allocation (default 64)")
      ->check(CLI::Range(1u, 65536u));
  sub->add_option("--duration", o->duration_s, "hard bound in seconds (default 30)")
      ->check(CLI::Range(0.1, 3600.0));
  auto* channel = sub->add_flag("--channel", o->channel, "ChannelData (the default)");
  auto* indication =
      sub->add_flag("--send-indication", o->send_indication, "Send/Data indications");
  channel->excludes(indication);
  sub->add_option("--user,-u", o->user, "username (with --password) or REST user id");
  sub->add_option("--password,-w", o->password, "password of a static user");
  sub->add_option("--secret,-s", o->secret, "REST shared secret (default: env TURNPIKE_SECRET)");
  sub->add_option("--separator", o->separator, "REST username separator (default ':')");
  sub->add_option("--credentials-url", o->credentials_url,
                  "fetch {username,password} JSON over http(s)");
  sub->add_option("--api-key", o->api_key, "--credentials-url: sent as Authorization: Bearer");
  sub->add_flag("--json", o->json, "print one JSON object instead of the summary");
  auto* insecure = sub->add_flag("--insecure,-k", o->insecure, "TLS: do not verify the server");
  sub->add_option("--ca", o->ca_file, "TLS: CA bundle to verify the server with")
      ->check(CLI::ExistingFile)
      ->excludes(insecure);
  sub->add_flag("--expect-zero-loss", o->expect_zero_loss, "exit 1 unless every echo came back");
  sub->add_flag("--no-progress", o->no_progress, "no live progress line on stderr");
  sub->add_flag("--raw", o->raw,
                "no TURN: send the ChannelData frames straight to SERVER (a raw UDP forwarder, "
                "tests/bench/raw_forwarder)");
  sub->add_option("--setup-concurrency", o->setup_concurrency,
                  "allocations being set up at once (default 0 = all at once)")
      ->check(CLI::Range(0u, 10000u));
  sub->add_option("--hold", o->hold_s,
                  "keep every allocation open and idle this many seconds before deleting")
      ->check(CLI::Range(0.0, 3600.0));
  return {sub, [o] { return run_load(*o); }};
}

}  // namespace turnpike::cli
