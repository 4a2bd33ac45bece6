// Counters of a `turnpike load` run and its final report (human text or one JSON object).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace turnpike::cli {

// RTT histogram in microseconds: exact below 1024 us, then 512 sub-buckets per power of two
// (< 0.2 % error). Fixed size, allocated once: recording never allocates.
class RttHistogram {
 public:
  RttHistogram();
  void record(uint64_t us) noexcept;
  [[nodiscard]] uint64_t count() const noexcept { return count_; }
  [[nodiscard]] uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] uint64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
  }
  // The value at quantile q (0 < q <= 1), from the buckets.
  [[nodiscard]] uint64_t percentile(double q) const noexcept;

 private:
  static size_t index_of(uint64_t us) noexcept;
  static uint64_t value_of(size_t index) noexcept;
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// Shared by every allocation of one run (a single libuv thread: no locking).
struct LoadStats {
  RttHistogram rtt;
  std::map<std::string, uint64_t> errors;  // terminal failures: STUN error code or a kind
  std::string first_error;                 // the first failure, with detail, for the report
  uint64_t stale_nonce_retries = 0;
  uint64_t retransmits = 0;
  uint64_t total_sent = 0;      // running totals (progress line, drain detection)
  uint64_t total_received = 0;  // unique echoes
  void add_error(const std::string& key, const std::string& detail);
};

// Everything the run measured, in final form.
struct LoadReport {
  std::string server;
  std::string peer;
  std::string transport;
  std::string mode;  // "channel", "send-indication" or "raw"
  uint32_t allocations_requested = 0;
  uint32_t allocations = 0;  // allocations that succeeded
  uint32_t ready = 0;        // allocations that also got their permission (and channel)
  uint32_t deleted = 0;      // Refresh(lifetime 0) acknowledged
  double allocation_time_s = 0;
  double setup_time_s = 0;
  uint64_t packets_per_allocation = 0;
  uint32_t size = 0;
  double rate_pps = 0;  // per allocation; 0 with --flood
  bool flood = false;
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t reordered = 0;
  uint64_t duplicates = 0;
  uint64_t foreign = 0;  // echoes that were not ours (wrong allocation, malformed, unknown)
  uint64_t send_blocked = 0;
  double send_elapsed_s = 0;  // first send to last send
  double recv_elapsed_s = 0;  // first send to last echo
  double elapsed_s = 0;
  double hold_s = 0;        // --hold
  double cpu_user_s = 0;    // this process (getrusage), for checking the generator is not the
  double cpu_system_s = 0;  // bottleneck
  bool stopped_by_duration = false;
  bool interrupted = false;
  uint64_t rtt_count = 0;
  uint64_t rtt_min_us = 0, rtt_p50_us = 0, rtt_p90_us = 0, rtt_p99_us = 0, rtt_max_us = 0;
  double rtt_avg_us = 0;
  std::map<std::string, uint64_t> errors;
  std::string first_error;
  uint64_t stale_nonce_retries = 0;
  uint64_t retransmits = 0;

  [[nodiscard]] int64_t loss() const noexcept {
    return static_cast<int64_t>(sent) - static_cast<int64_t>(received);
  }
  [[nodiscard]] nlohmann::json to_json() const;
  void print(std::FILE* out) const;
};

}  // namespace turnpike::cli
