#include "turnpike/turn/relay_port_pool.h"

namespace turnpike::turn {

RelayPortPool::RelayPortPool(uint16_t min_port, uint16_t max_port)
    : min_(min_port),
      state_(max_port >= min_port ? static_cast<size_t>(max_port - min_port) + 1 : 0, State::kFree),
      free_(state_.size()) {}

std::optional<uint16_t> RelayPortPool::acquire(bool even) {
  const size_t n = state_.size();
  if (free_ == 0 || n == 0) return std::nullopt;
  const size_t start = static_cast<size_t>(random_.next() % n);
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (start + i) % n;
    const auto port = static_cast<uint16_t>(min_ + index);
    if (state_[index] != State::kFree || (even && (port & 1) != 0)) continue;
    state_[index] = State::kInUse;
    --free_;
    return port;
  }
  return std::nullopt;
}

std::optional<uint16_t> RelayPortPool::acquire_pair() {
  const size_t n = state_.size();
  if (free_ < 2 || n < 2) return std::nullopt;
  const size_t start = static_cast<size_t>(random_.next() % n);
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (start + i) % n;
    const auto port = static_cast<uint16_t>(min_ + index);
    if ((port & 1) != 0 || index + 1 >= n) continue;
    if (state_[index] != State::kFree || state_[index + 1] != State::kFree) continue;
    state_[index] = State::kInUse;
    state_[index + 1] = State::kReserved;
    free_ -= 2;
    return port;
  }
  return std::nullopt;
}

bool RelayPortPool::acquire_specific(uint16_t port) {
  if (!in_range(port)) return false;
  State& s = state_[static_cast<size_t>(port - min_)];
  if (s == State::kInUse) return false;
  if (s == State::kFree) --free_;
  s = State::kInUse;
  return true;
}

bool RelayPortPool::reserve(uint16_t port) {
  if (!in_range(port)) return false;
  State& s = state_[static_cast<size_t>(port - min_)];
  if (s != State::kFree) return false;
  s = State::kReserved;
  --free_;
  return true;
}

void RelayPortPool::release_if_reserved(uint16_t port) {
  if (in_range(port) && state_[static_cast<size_t>(port - min_)] == State::kReserved) release(port);
}

void RelayPortPool::release(uint16_t port) {
  if (!in_range(port)) return;
  State& s = state_[static_cast<size_t>(port - min_)];
  if (s == State::kFree) return;
  s = State::kFree;
  ++free_;
}

}  // namespace turnpike::turn
