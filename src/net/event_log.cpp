#include "turnpike/net/event_log.h"

#include <spdlog/spdlog.h>

namespace turnpike::net {

bool EventLog::allowed() noexcept {
  if (budget_.try_take(static_cast<Millis>(uv_now(loop_)))) {
    if (const uint64_t suppressed = budget_.take_suppressed(); suppressed > 0) {
      spdlog::info("{} similar log lines suppressed", suppressed);
    }
    return true;
  }
  return false;
}

void EventLog::on_allocation_created(const FiveTuple& client, const SocketAddress& relayed,
                                     std::string_view username) {
  if (next_ != nullptr) next_->on_allocation_created(client, relayed, username);
  spdlog::debug("allocation {} -> {} for user '{}'", client.client.to_string(), relayed.to_string(),
                username);
}

void EventLog::on_allocation_deleted(const FiveTuple& client, std::string_view reason) {
  if (next_ != nullptr) next_->on_allocation_deleted(client, reason);
  spdlog::debug("allocation of {} deleted: {}", client.client.to_string(), reason);
}

void EventLog::on_auth_failure(const FiveTuple& client, turn::AuthFailure failure) {
  if (failure == turn::AuthFailure::kStaleNonce) return;  // routine: nonces expire
  if (!spdlog::should_log(spdlog::level::info) || !allowed()) return;
  spdlog::info("auth failure from {}: {}", client.client.to_string(), turn::to_string(failure));
}

void EventLog::on_peer_denied(const FiveTuple& client, const SocketAddress& peer) {
  if (!spdlog::should_log(spdlog::level::info) || !allowed()) return;
  spdlog::info("peer {} denied by policy for {}", peer.ip.to_string(), client.client.to_string());
}

}  // namespace turnpike::net
