// turnpike creds: mints TURN REST credentials offline (draft-uberti-behave-turn-rest-00 §2.2):
//   username = "<now + ttl>" [ <separator> <user> ],  password = base64(HMAC-SHA1(secret,
//   username))
// exactly as turnpiked verifies them (auth::mint_rest_credential).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "net_util.h"
#include "turnpike/auth/rest_credentials.h"

namespace turnpike::cli {
namespace {

struct CredsOptions {
  std::string secret;
  std::string user;
  int64_t ttl = 86400;
  std::string separator = ":";
  bool json = false;
};

int run_creds(const CredsOptions& o) {
  std::string secret = o.secret;
  if (secret.empty()) {
    if (const char* env = std::getenv("TURNPIKE_SECRET")) secret = env;
  }
  if (secret.empty()) {
    std::fprintf(stderr, "turnpike creds: no secret: pass --secret S or set TURNPIKE_SECRET\n");
    return 2;
  }
  if (o.separator.size() != 1) {
    std::fprintf(stderr, "turnpike creds: --separator must be exactly one character\n");
    return 2;
  }
  if (o.user.find(o.separator[0]) != std::string::npos) {
    // Harmless for the HMAC, but the daemon reads the expiry up to the first separator only.
    std::fprintf(stderr, "turnpike creds: note: the user contains the separator '%s'\n",
                 o.separator.c_str());
  }
  const int64_t expiry = unix_seconds() + o.ttl;
  const auto c = auth::mint_rest_credential(secret, o.user, expiry, o.separator[0]);
  if (o.json) {
    const nlohmann::json j = {
        {"username", c.username}, {"password", c.password}, {"ttl", o.ttl}, {"expires", expiry}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("username: %s\npassword: %s\nexpires: %lld (in %lld s)\n", c.username.c_str(),
                c.password.c_str(), static_cast<long long>(expiry), static_cast<long long>(o.ttl));
  }
  return 0;
}

}  // namespace

Command add_creds_command(CLI::App& app) {
  auto o = std::make_shared<CredsOptions>();
  CLI::App* sub =
      app.add_subcommand("creds", "mint TURN REST credentials offline from the shared secret");
  sub->add_option("--secret,-s", o->secret,
                  "shared secret (auth.rest_secrets; default: env TURNPIKE_SECRET)");
  sub->add_option("--user,-u", o->user, "user id appended to the expiry (may be empty)");
  sub->add_option("--ttl", o->ttl, "lifetime in seconds (default 86400)")
      ->check(CLI::Range(int64_t{1}, int64_t{10} * 365 * 86400));
  sub->add_option("--separator", o->separator, "between expiry and user (default ':')");
  sub->add_flag("--json", o->json, "print {\"username\",\"password\",\"ttl\",\"expires\"}");
  return {sub, [o] { return run_creds(*o); }};
}

}  // namespace turnpike::cli
