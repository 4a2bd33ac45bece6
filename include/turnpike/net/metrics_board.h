// What each worker publishes for /metrics: the server's counters, the transport's counters and
// gauges, summed over workers when rendered. Workers never share live counters.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "turnpike/turn/server.h"

namespace turnpike::net {

// Counters of one worker, copied out for /metrics (workers never share live counters).
struct WorkerCounters {
  uint64_t connections_accepted[3] = {};  // by Transport
  uint64_t tls_handshakes = 0;
  uint64_t tls_failures = 0;
  uint64_t stream_timeouts = 0;
  uint64_t stream_garbage = 0;
  uint64_t stream_drops = 0;  // data dropped because a client's write queue was full
  uint64_t udp_send_errors = 0;
  uint64_t udp_datagrams_sent = 0;  // UdpSendBatch: datagrams, system calls, GSO messages
  uint64_t udp_send_syscalls = 0;
  uint64_t udp_gso_messages = 0;
  // Connections accepted and closed at once (with a reset) because of limits.max_connections
  // ([0]) or limits.max_connections_per_ip ([1]).
  uint64_t connections_rejected[2] = {};
};

struct WorkerSnapshot {
  turn::Stats stats;
  WorkerCounters counters;
  uint64_t allocations = 0;
  uint64_t permissions = 0;
  uint64_t channels = 0;
  uint64_t relay_ports_free = 0;
  uint64_t connections = 0;
  uint64_t draining = 0;  // 1 while the worker refuses new allocations (SIGTERM grace period)
};

// Where the workers of one daemon publish their snapshots (each worker on its tick and before it
// renders), so /metrics served by any worker shows the whole server. Thread-safe.
class MetricsBoard {
 public:
  explicit MetricsBoard(size_t workers) : slots_(workers) {}
  void publish(size_t worker, const WorkerSnapshot& snapshot);
  [[nodiscard]] std::string render() const;
  // Allocations of all workers, as of their last publish (each publishes on its tick).
  [[nodiscard]] uint64_t allocations() const;

 private:
  mutable std::mutex mutex_;
  std::vector<WorkerSnapshot> slots_;
};

std::string render_metrics(const WorkerSnapshot& total, size_t workers);

}  // namespace turnpike::net
