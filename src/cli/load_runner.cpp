#include "load_runner.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>

#include "net_util.h"

namespace turnpike::cli {
namespace {

constexpr int kMaxBurst = 1000;            // packets per allocation per tick (paced catch-up)
constexpr int kFloodBurst = 64;            // packets per allocation per loop turn (flood)
constexpr int64_t kStallNs = 250'000'000;  // flood: a full window without echoes for this long
constexpr uint64_t kRefreshMs = 120'000;   // permissions last 300 s (RFC 8656 §9)

template <typename H>
uv_handle_t* as_handle(H* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}
LoadRunner* runner_of(void* handle) {
  return static_cast<LoadRunner*>(reinterpret_cast<uv_handle_t*>(handle)->data);
}

}  // namespace

LoadRunner::LoadRunner(LoadShared& shared, const RunSettings& settings)
    : shared_(shared), settings_(settings) {}

LoadReport LoadRunner::run() {
  uv_loop_init(&loop_);
  shared_.loop = &loop_;
  shared_.events = this;
  shared_.start_ns = mono_ns();
  uv_timer_init(&loop_, &tick_);
  uv_idle_init(&loop_, &idle_);
  uv_timer_init(&loop_, &phase_timer_);
  uv_timer_init(&loop_, &duration_timer_);
  uv_timer_init(&loop_, &progress_timer_);
  uv_timer_init(&loop_, &refresh_timer_);
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sigterm_);
  uv_prepare_init(&loop_, &flush_prepare_);
  uv_check_init(&loop_, &flush_check_);
  for (uv_handle_t* h :
       {as_handle(&tick_), as_handle(&idle_), as_handle(&phase_timer_), as_handle(&duration_timer_),
        as_handle(&progress_timer_), as_handle(&refresh_timer_), as_handle(&sigint_),
        as_handle(&sigterm_), as_handle(&flush_prepare_), as_handle(&flush_check_)}) {
    h->data = this;
  }
  uv_prepare_start(&flush_prepare_, [](uv_prepare_t*) { ClientTransport::flush_udp(); });
  uv_check_start(&flush_check_, [](uv_check_t*) { ClientTransport::flush_udp(); });
  uv_signal_start(&sigint_, on_signal, SIGINT);
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  uv_timer_start(&duration_timer_, on_duration,
                 static_cast<uint64_t>(std::llround(settings_.duration_s * 1000.0)), 0);
  uv_timer_start(&refresh_timer_, on_refresh, kRefreshMs, kRefreshMs);
  if (settings_.progress) uv_timer_start(&progress_timer_, on_progress, 250, 250);

  const uint32_t n = settings_.allocations;
  clients_.reserve(n);
  stagger_ns_.resize(n);
  written_off_.assign(n, 0);
  progress_ns_.assign(n, 0);
  for (uint32_t i = 0; i < n; ++i) {
    clients_.push_back(std::make_unique<LoadClient>(shared_, i));
    if (!settings_.flood && settings_.rate_pps > 0) {
      stagger_ns_[i] = static_cast<int64_t>(1e9 * i / (settings_.rate_pps * n));
    }
  }
  setup_pending_ = n;
  start_more();
  uv_run(&loop_, UV_RUN_DEFAULT);  // returns once finish() has closed every handle
  if (end_ns_ == 0) end_ns_ = mono_ns();
  LoadReport report = make_report();
  clients_.clear();
  uv_loop_close(&loop_);
  return report;
}

void LoadRunner::start_more() {
  if (starting_more_) return;  // the loop below is already running further up the stack
  starting_more_ = true;
  const uint32_t limit = settings_.setup_concurrency;
  while (phase_ == Phase::kSetup && next_start_ < clients_.size() &&
         (limit == 0 || in_setup_ < limit)) {
    ++in_setup_;
    clients_[next_start_++]->start();
  }
  starting_more_ = false;
}

void LoadRunner::on_setup_finished(LoadClient&) {
  if (in_setup_ > 0) --in_setup_;
  if (phase_ != Phase::kSetup) return;
  if (setup_pending_ > 0) --setup_pending_;
  if (setup_pending_ == 0) return begin_sending();
  start_more();
}

void LoadRunner::begin_sending() {
  phase_ = Phase::kSending;
  send_start_ns_ = mono_ns();
  std::fill(progress_ns_.begin(), progress_ns_.end(), send_start_ns_);
  const bool any_ready = std::ranges::any_of(
      clients_, [](const auto& c) { return c->state() == LoadClient::State::kReady; });
  if (!any_ready) return begin_drain();
  if (settings_.flood) {
    uv_idle_start(&idle_, on_idle);
  } else {
    uv_timer_start(&tick_, on_tick, 0, 1);
  }
}

void LoadRunner::send_paced(int64_t now) {
  bool all_done = true;
  const double rate = settings_.rate_pps;
  for (size_t i = 0; i < clients_.size() && phase_ == Phase::kSending; ++i) {
    LoadClient& c = *clients_[i];
    if (c.state() != LoadClient::State::kReady || c.done_sending()) continue;
    all_done = false;
    const int64_t elapsed = now - send_start_ns_ - stagger_ns_[i];
    if (elapsed < 0) continue;
    auto due = static_cast<uint64_t>(std::floor(static_cast<double>(elapsed) * rate / 1e9)) + 1;
    if (shared_.packets != 0) due = std::min(due, shared_.packets);
    for (int k = 0; k < kMaxBurst && c.counters().sent < due; ++k) {
      if (c.send_next(now) != ClientTransport::SendResult::kSent) break;
    }
    c.flush();
  }
  if (all_done && phase_ == Phase::kSending) begin_drain();
}

void LoadRunner::send_flood(int64_t now) {
  bool all_done = true;
  for (size_t i = 0; i < clients_.size() && phase_ == Phase::kSending; ++i) {
    LoadClient& c = *clients_[i];
    if (c.state() != LoadClient::State::kReady || c.done_sending()) continue;
    all_done = false;
    const LoadCounters& k = c.counters();
    const uint64_t in_flight = k.sent - std::min(k.sent, k.received + written_off_[i]);
    const int64_t last = std::max(progress_ns_[i], c.last_echo_ns());
    if (in_flight >= settings_.window) {
      if (now - last > kStallNs) {  // lost in the window: stop waiting for them
        written_off_[i] = k.sent - k.received;
        progress_ns_[i] = now;
      }
      continue;
    }
    uint64_t budget = std::min<uint64_t>(settings_.window - in_flight, kFloodBurst);
    if (shared_.packets != 0) budget = std::min(budget, shared_.packets - k.sent);
    for (uint64_t b = 0; b < budget; ++b) {
      if (c.send_next(now) != ClientTransport::SendResult::kSent) break;
    }
    c.flush();
  }
  if (all_done && phase_ == Phase::kSending) begin_drain();
}

void LoadRunner::begin_drain() {
  if (phase_ >= Phase::kDraining) return;
  phase_ = Phase::kDraining;
  uv_timer_stop(&tick_);
  uv_idle_stop(&idle_);
  if (shared_.stats.total_received >= shared_.stats.total_sent) return begin_delete();
  uv_timer_start(&phase_timer_, on_phase_timer, kDrainMs, 0);
}

void LoadRunner::on_echo() {
  if (phase_ == Phase::kDraining && shared_.stats.total_received >= shared_.stats.total_sent) {
    begin_delete();
  }
}

void LoadRunner::begin_hold() {
  phase_ = Phase::kHolding;
  uv_timer_stop(&phase_timer_);
  uint32_t open = 0;
  for (const auto& c : clients_) open += c->state() == LoadClient::State::kReady ? 1u : 0u;
  // A marker for scripts that measure the server while the allocations are held (bench.sh).
  std::fprintf(stderr, "turnpike load: holding %u allocations for %.1f s\n", open,
               settings_.hold_s);
  std::fflush(stderr);
  uv_timer_start(&phase_timer_, on_phase_timer,
                 static_cast<uint64_t>(std::llround(settings_.hold_s * 1000.0)), 0);
}

void LoadRunner::begin_delete() {
  if (phase_ >= Phase::kDeleting) return;
  if (settings_.hold_s > 0 && phase_ < Phase::kHolding && signals_ == 0) return begin_hold();
  phase_ = Phase::kDeleting;
  uv_timer_stop(&phase_timer_);
  uv_timer_stop(&tick_);
  uv_idle_stop(&idle_);
  starting_deletes_ = true;
  for (auto& c : clients_) {
    if (!c->start_delete()) c->close();  // never allocated, or failed: just close the socket
  }
  starting_deletes_ = false;
  uv_timer_start(&phase_timer_, on_phase_timer, kDeleteMs, 0);
  check_deletes_done();
}

void LoadRunner::on_delete_finished(LoadClient&) { check_deletes_done(); }

void LoadRunner::check_deletes_done() {
  if (phase_ != Phase::kDeleting || starting_deletes_) return;
  const bool pending = std::ranges::any_of(
      clients_, [](const auto& c) { return c->state() == LoadClient::State::kDeleting; });
  if (!pending) finish();
}

void LoadRunner::on_phase_timer(uv_timer_t* t) {
  LoadRunner* self = runner_of(t);
  if (self->phase_ == Phase::kDraining || self->phase_ == Phase::kHolding) {
    return self->begin_delete();
  }
  if (self->phase_ == Phase::kDeleting) {
    for (auto& c : self->clients_) {
      if (c->state() == LoadClient::State::kDeleting) {
        self->shared_.stats.add_error("timeout", "allocation " + std::to_string(c->index()) +
                                                     ": Refresh(0) unanswered at exit");
      }
    }
    self->finish();
  }
}

void LoadRunner::finish() {
  if (phase_ == Phase::kClosing) return;
  phase_ = Phase::kClosing;
  end_ns_ = mono_ns();
  if (progress_shown_) print_progress(true);
  for (uv_handle_t* h :
       {as_handle(&tick_), as_handle(&idle_), as_handle(&phase_timer_), as_handle(&duration_timer_),
        as_handle(&progress_timer_), as_handle(&refresh_timer_), as_handle(&sigint_),
        as_handle(&sigterm_), as_handle(&flush_prepare_), as_handle(&flush_check_)}) {
    uv_close(h, nullptr);
  }
  for (auto& c : clients_) c->close();
}

void LoadRunner::stop_early(bool by_signal) {
  if (by_signal) {
    interrupted_ = true;
  } else {
    stopped_by_duration_ = true;
  }
  if (phase_ <= Phase::kSending) return begin_drain();
  if (by_signal && phase_ == Phase::kHolding) begin_delete();
}

void LoadRunner::on_tick(uv_timer_t* t) { runner_of(t)->send_paced(mono_ns()); }
void LoadRunner::on_idle(uv_idle_t* h) { runner_of(h)->send_flood(mono_ns()); }
void LoadRunner::on_duration(uv_timer_t* t) { runner_of(t)->stop_early(false); }
void LoadRunner::on_progress(uv_timer_t* t) { runner_of(t)->print_progress(false); }

void LoadRunner::on_refresh(uv_timer_t* t) {
  for (auto& c : runner_of(t)->clients_) c->refresh();
}

void LoadRunner::on_signal(uv_signal_t* s, int) {
  LoadRunner* self = runner_of(s);
  if (++self->signals_ >= 2) {
    self->interrupted_ = true;
    return self->finish();
  }
  self->stop_early(true);
}

void LoadRunner::print_progress(bool final_line) {
  uint32_t allocated = 0;
  uint32_t ready = 0;
  for (const auto& c : clients_) {
    allocated += c->allocated() ? 1u : 0u;
    ready += c->ready_ns() != 0 ? 1u : 0u;
  }
  static constexpr const char* kNames[] = {"setup",   "sending",  "draining",
                                           "holding", "deleting", "done"};
  const double t = static_cast<double>(mono_ns() - shared_.start_ns) / 1e9;
  const LoadStats& s = shared_.stats;
  std::fprintf(stderr,
               "\r\033[K[%6.1fs] %-8s alloc %u/%zu ready %u | sent %llu recv %llu missing %lld | "
               "rtt p50 %s",
               t, kNames[static_cast<size_t>(phase_)], allocated, clients_.size(), ready,
               static_cast<unsigned long long>(s.total_sent),
               static_cast<unsigned long long>(s.total_received),
               static_cast<long long>(s.total_sent) - static_cast<long long>(s.total_received),
               format_us(static_cast<double>(s.rtt.percentile(0.5))).c_str());
  if (final_line) std::fprintf(stderr, "\n");
  std::fflush(stderr);
  progress_shown_ = true;
}

LoadReport LoadRunner::make_report() const {
  LoadReport r;
  r.allocations_requested = settings_.allocations;
  r.rate_pps = settings_.flood ? 0 : settings_.rate_pps;
  r.flood = settings_.flood;
  r.packets_per_allocation = shared_.packets;
  r.size = shared_.size;
  int64_t last_alloc = 0, last_ready = 0, last_send = 0, last_echo = 0;
  for (const auto& c : clients_) {
    const LoadCounters& k = c->counters();
    r.allocations += c->allocated() ? 1u : 0u;
    r.ready += c->ready_ns() != 0 ? 1u : 0u;
    r.deleted += c->deleted() ? 1u : 0u;
    r.sent += k.sent;
    r.received += k.received;
    r.bytes_sent += k.bytes_sent;
    r.bytes_received += k.bytes_received;
    r.reordered += k.reordered;
    r.duplicates += k.duplicates;
    r.foreign += k.foreign;
    r.send_blocked += k.blocked;
    last_alloc = std::max(last_alloc, c->allocated_ns());
    last_ready = std::max(last_ready, c->ready_ns());
    last_send = std::max(last_send, c->last_send_ns());
    last_echo = std::max(last_echo, c->last_echo_ns());
  }
  const auto secs = [](int64_t from, int64_t to) {
    return from != 0 && to > from ? static_cast<double>(to - from) / 1e9 : 0.0;
  };
  r.allocation_time_s = secs(shared_.start_ns, last_alloc);
  r.setup_time_s = secs(shared_.start_ns, last_ready);
  r.send_elapsed_s = secs(send_start_ns_, last_send);
  r.recv_elapsed_s = secs(send_start_ns_, last_echo);
  r.elapsed_s = secs(shared_.start_ns, end_ns_);
  r.stopped_by_duration = stopped_by_duration_;
  r.interrupted = interrupted_;
  const RttHistogram& h = shared_.stats.rtt;
  r.rtt_count = h.count();
  r.rtt_min_us = h.min();
  r.rtt_avg_us = h.mean();
  r.rtt_p50_us = h.percentile(0.50);
  r.rtt_p90_us = h.percentile(0.90);
  r.rtt_p99_us = h.percentile(0.99);
  r.rtt_max_us = h.max();
  r.errors = shared_.stats.errors;
  r.first_error = shared_.stats.first_error;
  r.stale_nonce_retries = shared_.stats.stale_nonce_retries;
  r.retransmits = shared_.stats.retransmits;
  return r;
}

}  // namespace turnpike::cli
