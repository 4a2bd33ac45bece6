#include "turnpike/turn/allocation_table.h"

namespace turnpike::turn {

AllocationId AllocationTable::reserve_slot() {
  uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[index].reserved = true;
  return {index, slots_[index].generation};
}

void AllocationTable::release_slot(AllocationId id) noexcept {
  if (id.index >= slots_.size()) return;
  Slot& slot = slots_[id.index];
  if (slot.generation != id.generation || !slot.reserved || slot.allocation) return;
  slot.reserved = false;
  ++slot.generation;
  free_.push_back(id.index);
}

Allocation& AllocationTable::commit(Allocation allocation) {
  Slot& slot = slots_[allocation.id.index];
  slot.reserved = false;
  slot.allocation = std::make_unique<Allocation>(std::move(allocation));
  Allocation& a = *slot.allocation;
  by_client_.emplace(a.client, a.id.index);
  by_relay_port_.emplace(relay_key(a.relay_local), a.id.index);
  return a;
}

Allocation* AllocationTable::find(AllocationId id) noexcept {
  if (id.index >= slots_.size()) return nullptr;
  Slot& slot = slots_[id.index];
  if (slot.generation != id.generation) return nullptr;
  return slot.allocation.get();
}

Allocation* AllocationTable::find(const FiveTuple& client) noexcept {
  const auto it = by_client_.find(client);
  return it == by_client_.end() ? nullptr : slots_[it->second].allocation.get();
}

Allocation* AllocationTable::find_by_relayed(const SocketAddress& address) noexcept {
  const auto it = by_relay_port_.find(relay_key(address));
  if (it == by_relay_port_.end()) return nullptr;
  Allocation* a = slots_[it->second].allocation.get();
  if (a == nullptr) return nullptr;
  if (a->relayed == address || a->relay_local == address) return a;
  return nullptr;
}

void AllocationTable::remove(AllocationId id) {
  Allocation* a = find(id);
  if (a == nullptr) return;
  Slot& slot = slots_[id.index];
  if (slot.has_timer) {
    timers_.erase(slot.timer);
    slot.has_timer = false;
  }
  by_client_.erase(a->client);
  by_relay_port_.erase(relay_key(a->relay_local));
  slot.allocation.reset();
  ++slot.generation;
  free_.push_back(id.index);
}

void AllocationTable::schedule(Allocation& allocation, Millis when) {
  Slot& slot = slots_[allocation.id.index];
  if (slot.has_timer) {
    if (slot.timer->first == when) return;
    timers_.erase(slot.timer);
  }
  slot.timer = timers_.emplace(when, allocation.id);
  slot.has_timer = true;
}

void AllocationTable::due(Millis now, std::vector<AllocationId>& out) {
  out.clear();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const AllocationId id = timers_.begin()->second;
    timers_.erase(timers_.begin());
    slots_[id.index].has_timer = false;
    out.push_back(id);
  }
}

std::optional<Millis> AllocationTable::next_deadline() const noexcept {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

}  // namespace turnpike::turn
