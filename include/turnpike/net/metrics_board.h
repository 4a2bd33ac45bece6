// Where the workers of one daemon publish their metrics (each worker on its tick and before it
// renders), so /metrics served by any worker shows the whole server: one metrics::Counters block
// per worker, summed when rendered. Workers never share live counters. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "turnpike/metrics/registry.h"

namespace turnpike::net {

class MetricsBoard {
 public:
  explicit MetricsBoard(size_t workers) : slots_(workers) {}
  void publish(size_t worker, const metrics::Counters& snapshot);
  [[nodiscard]] std::string render() const;
  // Allocations of all workers, as of their last publish (each publishes on its tick).
  [[nodiscard]] uint64_t allocations() const;

 private:
  mutable std::mutex mutex_;
  std::vector<metrics::Counters> slots_;
};

}  // namespace turnpike::net
