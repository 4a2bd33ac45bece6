#include "turnpike/turn/allocation.h"

#include <algorithm>

namespace turnpike::turn {

const Permission* Allocation::find_permission(const IpAddress& ip, Millis now) const noexcept {
  for (const Permission& p : permissions) {
    if (p.peer == ip) return p.expires > now ? &p : nullptr;
  }
  return nullptr;
}

const Channel* Allocation::find_channel(uint16_t number, Millis now) const noexcept {
  for (const Channel& c : channels) {
    if (c.number == number) return c.expires > now ? &c : nullptr;
  }
  return nullptr;
}

const Channel* Allocation::find_channel_for(const SocketAddress& peer, Millis now) const noexcept {
  for (const Channel& c : channels) {
    if (c.peer == peer) return c.expires > now ? &c : nullptr;
  }
  return nullptr;
}

bool Allocation::install_permission(const IpAddress& ip, Millis expires_at, size_t cap) {
  for (Permission& p : permissions) {
    if (p.peer == ip) {
      p.expires = std::max(p.expires, expires_at);
      return true;
    }
  }
  if (permissions.size() >= cap) return false;
  permissions.push_back({ip, expires_at});
  return true;
}

bool Allocation::install_channel(const Channel& channel, size_t cap) {
  for (Channel& c : channels) {
    if (c.number == channel.number) {
      c.expires = std::max(c.expires, channel.expires);
      c.verdict = channel.verdict;
      return true;
    }
  }
  if (channels.size() >= cap) return false;
  channels.push_back(channel);
  return true;
}

Millis Allocation::reap(Millis now) {
  std::erase_if(permissions, [now](const Permission& p) { return p.expires <= now; });
  // RFC 8656 §12: an expired channel's number and peer stay unusable for another 5 minutes so
  // late packets are not misdelivered; we simply stop using it (the binding is gone) — a new
  // ChannelBind for the same pair is allowed, a different pair gets a fresh entry.
  std::erase_if(channels, [now](const Channel& c) { return c.expires <= now; });
  Millis next = expires;
  for (const Permission& p : permissions) next = std::min(next, p.expires);
  for (const Channel& c : channels) next = std::min(next, c.expires);
  if (reservation_expires > now) next = std::min(next, reservation_expires);
  return next;
}

}  // namespace turnpike::turn
