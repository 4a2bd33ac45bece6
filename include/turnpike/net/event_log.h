// What a worker logs about its clients: the turn::Server's events (turn::Observer) and the
// transport's own (refused connections, TLS failures, garbage). Rate-limited, so a flood cannot
// fill the disk; never per relayed packet; never a secret. Allocation events are also forwarded to
// the transport (StreamConnections arms its idle timers from them), so the core keeps one
// observer.
#pragma once

#include <uv.h>

#include <string_view>

#include "turnpike/policy/rate_limiter.h"
#include "turnpike/turn/interfaces.h"

namespace turnpike::net {

class EventLog final : public turn::Observer {
 public:
  explicit EventLog(uv_loop_t* loop) : loop_(loop), budget_(5.0, 20.0) {}

  // Whether a line may be written now (and, when lines were suppressed before, says how many).
  bool allowed() noexcept;
  // Where on_allocation_created / on_allocation_deleted go as well (null: nowhere).
  void forward_allocations_to(turn::Observer* next) noexcept { next_ = next; }

  // turn::Observer
  void on_allocation_created(const FiveTuple& client, const SocketAddress& relayed,
                             std::string_view username) override;
  void on_allocation_deleted(const FiveTuple& client, std::string_view reason) override;
  void on_auth_failure(const FiveTuple& client, turn::AuthFailure failure) override;
  void on_peer_denied(const FiveTuple& client, const SocketAddress& peer) override;

 private:
  uv_loop_t* loop_;
  policy::TokenBucket budget_;
  turn::Observer* next_ = nullptr;
};

}  // namespace turnpike::net
