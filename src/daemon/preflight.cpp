#include "preflight.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <exception>

#include "turnpike/net/tls_context.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::daemon {
namespace {

void check_tls(const config::Config& c, Preflight& out) {
  if (c.tls.certificate.empty()) return;
  try {
    (void)net::TlsContext::load(c.tls.certificate, c.tls.private_key);
  } catch (const std::exception& e) {
    out.errors.emplace_back(e.what());  // "tls.certificate: cannot load '...': ..."
  }
}

void check_accounts(const config::Config& c, Preflight& out) {
  if (!c.user.empty() && getpwnam(c.user.c_str()) == nullptr) {
    out.errors.push_back("user: no such user '" + c.user + "'");
  }
  if (!c.group.empty() && getgrnam(c.group.c_str()) == nullptr) {
    out.errors.push_back("group: no such group '" + c.group + "'");
  }
}

// Firefox refuses a turns: URL whose host is an IP literal (the certificate is checked against a
// name), so a TLS relay handed out by IP works in Chromium and Safari but not in Firefox.
void check_tls_hosts(const config::Config& c, Preflight& out) {
  const bool tls_turn = std::any_of(c.listeners.begin(), c.listeners.end(), [](const auto& l) {
    return l.transport == Transport::kTls && !l.http_only;
  });
  if (!tls_turn || !c.credentials.enabled()) return;
  for (size_t i = 0; i < c.credentials.hosts.size(); ++i) {
    const std::string& host = c.credentials.hosts[i];
    if (!IpAddress::parse(host)) continue;
    out.warnings.push_back("credentials.hosts[" + std::to_string(i) + "]: '" + host +
                           "' is an IP address: Firefox refuses turns: URLs without a host name; "
                           "list the DNS name of the TLS listener's certificate");
  }
}

}  // namespace

Preflight preflight(const config::Config& config) {
  Preflight out;
  check_tls(config, out);
  check_accounts(config, out);
  check_tls_hosts(config, out);
  return out;
}

}  // namespace turnpike::daemon
