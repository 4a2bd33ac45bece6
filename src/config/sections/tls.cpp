// tls.*: certificate, private_key, handshake_timeout; and listeners[].transport "tls", which
// needs both files.
#include <string>
#include <utility>

#include "sections.h"

namespace turnpike::config::detail {

void read_tls(Reader& r, const Json& value, const std::string& path, Config& config) {
  TlsConfig& tls = config.tls;
  r.object(value, path,
           {{"certificate",
             [&](const Json& v, const std::string& p) {
               if (auto text = r.string(v, p)) tls.certificate = std::move(*text);
             }},
            {"private_key",
             [&](const Json& v, const std::string& p) {
               if (auto text = r.string(v, p)) tls.private_key = std::move(*text);
             }},
            {"handshake_timeout", [&](const Json& v, const std::string& p) {
               r.unsigned_into(v, p, tls.handshake_timeout_s, 1, 300);
             }}});
}

void validate_tls(const Config& config, Reader& r) {
  const bool has_tls = !config.tls.certificate.empty() || !config.tls.private_key.empty();
  if (has_tls && config.tls.certificate.empty())
    r.error("tls.certificate", "required with tls.private_key");
  if (has_tls && config.tls.private_key.empty())
    r.error("tls.private_key", "required with tls.certificate");
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    if (config.listeners[i].transport == Transport::kTls && !has_tls) {
      r.error(index_path("listeners", i) + ".transport",
              "tls needs tls.certificate and tls.private_key");
    }
  }
}

}  // namespace turnpike::config::detail
