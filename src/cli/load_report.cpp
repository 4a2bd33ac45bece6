#include <bit>
#include <cmath>

#include "load_stats.h"
#include "net_util.h"

namespace turnpike::cli {
namespace {

constexpr size_t kExact = 1024;      // values below are their own bucket
constexpr size_t kSubBuckets = 512;  // per power of two above
constexpr unsigned kExactBits = 10;  // log2(kExact)
constexpr unsigned kMaxBits = 40;    // values are clamped below 2^40 us (~12.7 days)
constexpr size_t kBuckets = kExact + (kMaxBits - kExactBits) * kSubBuckets;

double per_second(double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; }
double mbit_per_second(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) * 8.0 / seconds / 1e6 : 0.0;
}

}  // namespace

RttHistogram::RttHistogram() : buckets_(kBuckets, 0) {}

size_t RttHistogram::index_of(uint64_t us) noexcept {
  if (us < kExact) return static_cast<size_t>(us);
  const auto msb = static_cast<unsigned>(std::bit_width(us) - 1);  // >= kExactBits
  const unsigned shift = msb - (kExactBits - 1);
  const auto mantissa = static_cast<size_t>(us >> shift);  // in [512, 1024)
  return kExact + (msb - kExactBits) * kSubBuckets + (mantissa - kSubBuckets);
}

uint64_t RttHistogram::value_of(size_t index) noexcept {
  if (index < kExact) return index;
  const size_t rel = index - kExact;
  const unsigned msb = static_cast<unsigned>(rel / kSubBuckets) + kExactBits;
  const unsigned shift = msb - (kExactBits - 1);
  const uint64_t mantissa = kSubBuckets + rel % kSubBuckets;
  return (mantissa << shift) + ((uint64_t{1} << shift) >> 1);  // middle of the bucket
}

void RttHistogram::record(uint64_t us) noexcept {
  const uint64_t limit = (uint64_t{1} << kMaxBits) - 1;
  if (us > limit) us = limit;
  ++buckets_[index_of(us)];
  ++count_;
  sum_ += us;
  if (us < min_) min_ = us;
  if (us > max_) max_ = us;
}

uint64_t RttHistogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t v = value_of(i);
      return v < min_ ? min_ : (v > max_ ? max_ : v);
    }
  }
  return max_;
}

void LoadStats::add_error(const std::string& key, const std::string& detail) {
  ++errors[key];
  if (first_error.empty()) first_error = detail;
}

nlohmann::json LoadReport::to_json() const {
  const double recv_s = recv_elapsed_s;
  nlohmann::json j = {
      {"server", server},
      {"peer", peer},
      {"transport", transport},
      {"mode", mode},
      {"allocations_requested", allocations_requested},
      {"allocations", allocations},
      {"allocations_ready", ready},
      {"allocations_deleted", deleted},
      {"allocation_time_s", allocation_time_s},
      {"allocations_per_s", per_second(allocations, allocation_time_s)},
      {"setup_time_s", setup_time_s},
      {"packets_per_allocation", packets_per_allocation},
      {"size", size},
      {"rate_pps", rate_pps},
      {"flood", flood},
      {"sent", sent},
      {"received", received},
      {"loss", loss()},
      {"loss_pct", sent > 0 ? 100.0 * static_cast<double>(loss()) / static_cast<double>(sent) : 0},
      {"reordered", reordered},
      {"duplicates", duplicates},
      {"foreign", foreign},
      {"send_blocked", send_blocked},
      {"bytes_sent", bytes_sent},
      {"bytes_received", bytes_received},
      {"send_pps", per_second(static_cast<double>(sent), send_elapsed_s)},
      {"recv_pps", per_second(static_cast<double>(received), recv_s)},
      {"send_mbps", mbit_per_second(bytes_sent, send_elapsed_s)},
      {"recv_mbps", mbit_per_second(bytes_received, recv_s)},
      {"send_elapsed_s", send_elapsed_s},
      {"recv_elapsed_s", recv_s},
      {"rtt_us",
       {{"count", rtt_count},
        {"min", rtt_min_us},
        {"avg", rtt_avg_us},
        {"p50", rtt_p50_us},
        {"p90", rtt_p90_us},
        {"p99", rtt_p99_us},
        {"max", rtt_max_us}}},
      {"errors", errors},
      {"stale_nonce_retries", stale_nonce_retries},
      {"retransmits", retransmits},
      {"stopped_by_duration", stopped_by_duration},
      {"interrupted", interrupted},
      {"elapsed_s", elapsed_s},
      {"hold_s", hold_s},
      {"cpu_s", {{"user", cpu_user_s}, {"system", cpu_system_s}}},
  };
  if (!first_error.empty()) j["first_error"] = first_error;
  return j;
}

void LoadReport::print(std::FILE* out) const {
  std::fprintf(out, "turnpike load: %s %s -> peer %s, %s mode, %u allocations\n", transport.c_str(),
               server.c_str(), peer.c_str(), mode.c_str(), allocations_requested);
  if (mode == "raw") {
    std::fprintf(out, "  clients      %u/%u ready in %.3f s (raw: no TURN exchanges)\n", ready,
                 allocations_requested, setup_time_s);
  } else {
    std::fprintf(out,
                 "  allocations  %u/%u in %.3f s (%.1f allocations/s); ready %u in %.3f s; "
                 "deleted %u\n",
                 allocations, allocations_requested, allocation_time_s,
                 per_second(allocations, allocation_time_s), ready, setup_time_s, deleted);
  }
  const std::string count = packets_per_allocation == 0 ? std::string("unbounded")
                                                        : std::to_string(packets_per_allocation);
  if (flood) {
    std::fprintf(out, "  load         %s packets x %u bytes per allocation, flood\n", count.c_str(),
                 size);
  } else {
    std::fprintf(out, "  load         %s packets x %u bytes per allocation at %.1f pkt/s\n",
                 count.c_str(), size, rate_pps);
  }
  std::fprintf(out, "  sent         %llu packets, %llu bytes in %.3f s: %.1f pkt/s, %.3f Mbit/s\n",
               static_cast<unsigned long long>(sent), static_cast<unsigned long long>(bytes_sent),
               send_elapsed_s, per_second(static_cast<double>(sent), send_elapsed_s),
               mbit_per_second(bytes_sent, send_elapsed_s));
  std::fprintf(out, "  received     %llu packets, %llu bytes in %.3f s: %.1f pkt/s, %.3f Mbit/s\n",
               static_cast<unsigned long long>(received),
               static_cast<unsigned long long>(bytes_received), recv_elapsed_s,
               per_second(static_cast<double>(received), recv_elapsed_s),
               mbit_per_second(bytes_received, recv_elapsed_s));
  std::fprintf(
      out, "  loss         %lld (%.2f %%), reordered %llu, duplicates %llu, foreign %llu\n",
      static_cast<long long>(loss()),
      sent > 0 ? 100.0 * static_cast<double>(loss()) / static_cast<double>(sent) : 0.0,
      static_cast<unsigned long long>(reordered), static_cast<unsigned long long>(duplicates),
      static_cast<unsigned long long>(foreign));
  if (rtt_count > 0) {
    std::fprintf(out, "  rtt          min %s, avg %s, p50 %s, p90 %s, p99 %s, max %s\n",
                 format_us(static_cast<double>(rtt_min_us)).c_str(), format_us(rtt_avg_us).c_str(),
                 format_us(static_cast<double>(rtt_p50_us)).c_str(),
                 format_us(static_cast<double>(rtt_p90_us)).c_str(),
                 format_us(static_cast<double>(rtt_p99_us)).c_str(),
                 format_us(static_cast<double>(rtt_max_us)).c_str());
  } else {
    std::fprintf(out, "  rtt          no echoes\n");
  }
  std::string err_text;
  for (const auto& [key, n] : errors) {
    err_text += (err_text.empty() ? "" : ", ") + key + " x" + std::to_string(n);
  }
  std::fprintf(out, "  errors       %s", err_text.empty() ? "none" : err_text.c_str());
  if (!first_error.empty()) std::fprintf(out, " (first: %s)", first_error.c_str());
  std::fprintf(out, "; stale-nonce retries %llu, retransmits %llu\n",
               static_cast<unsigned long long>(stale_nonce_retries),
               static_cast<unsigned long long>(retransmits));
  std::fprintf(out, "  elapsed      %.3f s%s%s; cpu %.3f s user + %.3f s system\n", elapsed_s,
               stopped_by_duration ? " (stopped by --duration)" : "",
               interrupted ? " (interrupted)" : "", cpu_user_s, cpu_system_s);
}

}  // namespace turnpike::cli
