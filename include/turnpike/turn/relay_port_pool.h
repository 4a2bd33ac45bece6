// The relay port range (RFC 8656 §7.2: relay ports come from a range the operator opens in the
// firewall). Pure bookkeeping: which ports are free, in use or reserved. The transport binds.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "turnpike/util/crypto.h"

namespace turnpike::turn {

class RelayPortPool {
 public:
  // The port choice has its own secret (crypto::SecretStream, keyed from the CSPRNG): nothing the
  // server sends (transaction ids, tokens) tells which port comes next.
  RelayPortPool(uint16_t min_port, uint16_t max_port);

  // A free port (even when asked), chosen at random for each allocation as in RFC 6056 §3.3.1
  // (a random start, then the next free one). Marks it in use. nullopt when none is left.
  std::optional<uint16_t> acquire(bool even);
  // Takes a specific port if it is free or reserved (a RESERVATION-TOKEN being redeemed).
  bool acquire_specific(uint16_t port);
  // An even port whose successor is free too: the port is marked in use, the successor reserved
  // (EVEN-PORT with R=1). nullopt when no such pair is left.
  std::optional<uint16_t> acquire_pair();
  bool reserve(uint16_t port);              // free -> reserved
  void release(uint16_t port);              // in use or reserved -> free
  void release_if_reserved(uint16_t port);  // reserved -> free (a redeemed port stays in use)
  // The transport could not bind this port (another process has it): leave it marked in use for
  // now and let the caller try another.
  [[nodiscard]] size_t free_count() const noexcept { return free_; }
  [[nodiscard]] size_t capacity() const noexcept { return state_.size(); }

 private:
  enum class State : uint8_t { kFree, kInUse, kReserved };
  [[nodiscard]] bool in_range(uint16_t port) const noexcept {
    return port >= min_ && port - min_ < static_cast<int>(state_.size());
  }
  uint16_t min_;
  std::vector<State> state_;
  size_t free_;
  crypto::SecretStream random_;
};

}  // namespace turnpike::turn
