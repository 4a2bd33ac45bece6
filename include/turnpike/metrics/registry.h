// One registry of metric families for the whole process. A module declares each family once, at
// namespace scope in its own metrics header:
//
//   inline const metrics::Family kTlsHandshakes = metrics::declare(
//       "turnpike_tls_handshakes_total", metrics::Kind::kCounter, "TLS handshakes completed.");
//
// and counts where the event happens, in the Counters block of its thread:
//
//   counters.add(kTlsHandshakes);
//
// Counters are plain integers in a fixed array (no atomics, no allocation, no lookup by name on
// the packet path); each worker owns one block, blocks are summed when /metrics is scraped, and
// render() writes every declared family in the Prometheus text format. Labels are fixed sets
// declared with the family (transport, direction, reason): never a user, address or allocation.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace turnpike::metrics {

enum class Kind : uint8_t {
  kCounter,   // summed over workers
  kGauge,     // summed over workers (allocations now, connections now)
  kGaugeMax,  // the largest worker value (flags such as "draining")
  kShared,    // one daemon-wide value every worker reports (a shared pool): the last one counts
};

// A declared family: its first slot in every Counters block and how many series it has.
struct Family {
  uint32_t first = 0;
  uint32_t series = 1;
};

// Declares a family. `series` are the label sets of its series in the order the count sites
// index them, each written as Prometheus labels without braces (`direction="to_peer"`); none for
// an unlabelled family. Declaring the same name twice returns the first declaration.
Family declare(std::string_view name, Kind kind, std::string_view help,
               std::initializer_list<std::string_view> series = {});
Family declare(std::string_view name, Kind kind, std::string_view help,
               const std::vector<std::string>& series);
// Series of one label: `key="value"` for each value, escaped as Prometheus wants.
std::vector<std::string> one_label(std::string_view key,
                                   std::initializer_list<std::string_view> values);

class Counters {
 public:
  static constexpr size_t kSlots = 256;  // every series of every family of the process

  void add(Family family, size_t series = 0, uint64_t n = 1) noexcept {
    values_[family.first + series] += n;
  }
  void set(Family family, uint64_t value, size_t series = 0) noexcept {
    values_[family.first + series] = value;
  }
  [[nodiscard]] uint64_t get(Family family, size_t series = 0) const noexcept {
    return values_[family.first + series];
  }
  // Another worker's block into this one (counters and gauges add up, kGaugeMax takes the max,
  // kShared the other's value).
  void merge(const Counters& other);

 private:
  std::array<uint64_t, kSlots> values_{};
};

// Prometheus text of every declared family, with the values in `totals`.
std::string render(const Counters& totals);

}  // namespace turnpike::metrics
