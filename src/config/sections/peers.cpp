// peers.*: allow and deny (CIDR lists), allow_listeners. Also the CIDR-list reader other sections
// share (listeners[].proxy_protocol_from).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sections.h"
#include "turnpike/policy/peer_filter.h"

namespace turnpike::config::detail {
// Checked while parsing (so one run reports every problem) and again by validate() (so configs
// built or changed in code are covered too).
void check_cidr(const std::string& text, std::string_view path, Reader& reader) {
  if (!policy::Cidr::parse(text)) reader.error(path, quote_json(text) + " is not a CIDR range");
}

void read_cidr_list(Reader& r, const Json& value, const std::string& path,
                    std::vector<std::string>& out) {
  if (!r.array(value, path)) return;
  std::vector<std::string> cidrs;
  for (size_t i = 0; i < value.size(); ++i) {
    if (auto text = r.string(value[i], index_path(path, i))) {
      check_cidr(*text, index_path(path, i), r);
      cidrs.push_back(std::move(*text));
    }
  }
  out = std::move(cidrs);
}

void read_peers(Reader& r, const Json& value, const std::string& path, Config& config) {
  PeerConfig& peers = config.peers;
  r.object(
      value, path,
      {{"allow",
        [&](const Json& v, const std::string& p) { read_cidr_list(r, v, p, peers.allow); }},
       {"deny", [&](const Json& v, const std::string& p) { read_cidr_list(r, v, p, peers.deny); }},
       {"allow_listeners", [&](const Json& v, const std::string& p) {
          if (auto on = r.boolean(v, p)) peers.allow_listeners = *on;
        }}});
}

void validate_peers(const Config& config, Reader& r) {
  for (size_t i = 0; i < config.peers.allow.size(); ++i) {
    check_cidr(config.peers.allow[i], index_path("peers.allow", i), r);
  }
  for (size_t i = 0; i < config.peers.deny.size(); ++i) {
    check_cidr(config.peers.deny[i], index_path("peers.deny", i), r);
  }
}

}  // namespace turnpike::config::detail
