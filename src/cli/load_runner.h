// Runs the allocations of `turnpike load` on one libuv loop, in phases:
//   setup    every allocation connects, allocates, gets its permission (and channel)
//   sending  packets go out at --rate per allocation (a 1 ms tick), or --flood (window-bounded)
//   draining up to 2 s for the echoes still in flight
//   holding  (--hold S) every allocation stays open and idle for S seconds
//   deleting Refresh(LIFETIME 0) for every allocation, up to 2 s
// --duration (or SIGINT/SIGTERM) ends setup/sending early; a second signal stops at once.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "load_client.h"
#include "load_stats.h"

namespace turnpike::cli {

struct RunSettings {
  uint32_t allocations = 1;
  double rate_pps = 50;  // per allocation
  bool flood = false;
  uint32_t window = 64;  // flood: packets in flight per allocation
  double duration_s = 30;
  uint32_t setup_concurrency = 0;  // allocations in setup at once; 0 = all at once
  double hold_s = 0;               // idle time with every allocation open, before deleting
  bool progress = false;           // live line on stderr
};

class LoadRunner final : public LoadEvents {
 public:
  static constexpr uint64_t kDrainMs = 2000;
  static constexpr uint64_t kDeleteMs = 2000;

  LoadRunner(LoadShared& shared, const RunSettings& settings);
  LoadRunner(const LoadRunner&) = delete;
  LoadRunner& operator=(const LoadRunner&) = delete;
  ~LoadRunner() = default;

  // Runs to the end (bounded by duration + drain + delete) and returns the measurements.
  LoadReport run();

 private:
  enum class Phase : uint8_t { kSetup, kSending, kDraining, kHolding, kDeleting, kClosing };

  void on_setup_finished(LoadClient& client) override;
  void on_delete_finished(LoadClient& client) override;
  void on_echo() override;

  void start_more();  // starts allocations up to settings_.setup_concurrency in setup
  void begin_sending();
  void begin_drain();
  void begin_hold();
  void begin_delete();
  void check_deletes_done();
  void finish();
  void stop_early(bool by_signal);
  void send_paced(int64_t now);
  void send_flood(int64_t now);
  void print_progress(bool final_line);
  LoadReport make_report() const;

  static void on_tick(uv_timer_t* t);
  static void on_idle(uv_idle_t* h);
  static void on_phase_timer(uv_timer_t* t);
  static void on_duration(uv_timer_t* t);
  static void on_progress(uv_timer_t* t);
  static void on_refresh(uv_timer_t* t);
  static void on_signal(uv_signal_t* s, int);

  LoadShared& shared_;
  RunSettings settings_;
  uv_loop_t loop_{};
  uv_timer_t tick_{};
  uv_idle_t idle_{};
  uv_timer_t phase_timer_{};
  uv_timer_t duration_timer_{};
  uv_timer_t progress_timer_{};
  uv_timer_t refresh_timer_{};
  uv_prepare_t flush_prepare_{};  // queued UDP frames leave before the loop polls...
  uv_check_t flush_check_{};      // ...and after it handled I/O
  uv_signal_t sigint_{};
  uv_signal_t sigterm_{};

  std::vector<std::unique_ptr<LoadClient>> clients_;
  std::vector<int64_t> stagger_ns_;    // paced mode: each allocation's offset in the send period
  std::vector<uint64_t> written_off_;  // flood: echoes given up on, per allocation
  std::vector<int64_t> progress_ns_;   // flood: last echo or write-off, per allocation
  Phase phase_ = Phase::kSetup;
  uint32_t setup_pending_ = 0;
  size_t next_start_ = 0;       // next allocation to start
  uint32_t in_setup_ = 0;       // started, setup not finished
  bool starting_more_ = false;  // start_more() is on the stack (raw mode finishes synchronously)
  bool starting_deletes_ = false;
  bool stopped_by_duration_ = false;
  bool interrupted_ = false;
  int signals_ = 0;
  int64_t send_start_ns_ = 0;
  int64_t end_ns_ = 0;
  bool progress_shown_ = false;
};

}  // namespace turnpike::cli
