// Owns every allocation: a slot vector addressed by AllocationId (index + generation), with
// indexes from the client 5-tuple and from the relayed port, and one expiry timer per allocation in
// an ordered map (no scanning of all allocations to find what expired). The quotas are counted by
// turn::AllocationQuota, across workers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "turnpike/turn/allocation.h"

namespace turnpike::turn {

class AllocationTable {
 public:
  [[nodiscard]] size_t size() const noexcept { return by_client_.size(); }

  // Reserves a slot and returns its id; the allocation becomes findable after commit().
  AllocationId reserve_slot();
  void release_slot(AllocationId id) noexcept;  // undo reserve_slot() when opening the relay failed
  Allocation& commit(Allocation allocation);    // allocation.id must come from reserve_slot()

  Allocation* find(AllocationId id) noexcept;
  Allocation* find(const FiveTuple& client) noexcept;
  // The allocation whose relayed address (advertised or local) is `address`, for hairpinning.
  Allocation* find_by_relayed(const SocketAddress& address) noexcept;

  void remove(AllocationId id);

  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& slot : slots_) {
      if (slot.allocation) f(*slot.allocation);
    }
  }

  // Timer: (re)arms the allocation's single expiry timer at `when`.
  void schedule(Allocation& allocation, Millis when);
  // Pops the ids whose timers are due at `now` (each is then reaped or removed by the caller).
  void due(Millis now, std::vector<AllocationId>& out);
  [[nodiscard]] std::optional<Millis> next_deadline() const noexcept;

 private:
  struct Slot {
    std::unique_ptr<Allocation> allocation;
    uint32_t generation = 1;
    bool reserved = false;
    std::multimap<Millis, AllocationId>::iterator timer;
    bool has_timer = false;
  };
  static uint32_t relay_key(const SocketAddress& a) noexcept {
    return (static_cast<uint32_t>(a.ip.family) << 16) | a.port;
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::unordered_map<FiveTuple, uint32_t> by_client_;
  std::unordered_map<uint32_t, uint32_t> by_relay_port_;
  std::multimap<Millis, AllocationId> timers_;
};

}  // namespace turnpike::turn
