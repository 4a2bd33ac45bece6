#include "turnpike/net/metrics_board.h"

#include "turnpike/turn/metrics.h"

namespace turnpike::net {

void MetricsBoard::publish(size_t worker, const metrics::Counters& snapshot) {
  std::lock_guard lock(mutex_);
  if (worker < slots_.size()) slots_[worker] = snapshot;
}

uint64_t MetricsBoard::allocations() const {
  std::lock_guard lock(mutex_);
  uint64_t total = 0;
  for (const metrics::Counters& one : slots_) total += one.get(turn::metric::kAllocations);
  return total;
}

std::string MetricsBoard::render() const {
  metrics::Counters total;
  {
    std::lock_guard lock(mutex_);
    for (const metrics::Counters& one : slots_) total.merge(one);
  }
  return metrics::render(total);
}

}  // namespace turnpike::net
