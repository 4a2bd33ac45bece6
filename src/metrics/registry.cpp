#include "turnpike/metrics/registry.h"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "turnpike/metrics/prometheus.h"

namespace turnpike::metrics {
namespace {

struct Declared {
  std::string name;
  std::string help;
  Kind kind = Kind::kCounter;
  std::vector<std::string> series;  // label sets; empty for an unlabelled family
  Family family;
};

struct Table {
  std::mutex mutex;
  std::vector<Declared> families;
  uint32_t used = 0;
};

// Declarations run during static initialisation, in any order of translation units: the table is
// built on first use.
Table& table() {
  static Table t;
  return t;
}

const char* type_name(Kind kind) { return kind == Kind::kCounter ? "counter" : "gauge"; }

}  // namespace

Family declare(std::string_view name, Kind kind, std::string_view help,
               std::initializer_list<std::string_view> series) {
  return declare(name, kind, help, std::vector<std::string>(series.begin(), series.end()));
}

std::vector<std::string> one_label(std::string_view key,
                                   std::initializer_list<std::string_view> values) {
  std::vector<std::string> out;
  for (const std::string_view value : values) {
    std::string s = std::string(key) + "=\"";
    for (const char c : value) {  // label values escape backslash, quote and newline
      if (c == '\\' || c == '"') {
        s.push_back('\\');
        s.push_back(c);
      } else if (c == '\n') {
        s += "\\n";
      } else {
        s.push_back(c);
      }
    }
    out.push_back(s + "\"");
  }
  return out;
}

Family declare(std::string_view name, Kind kind, std::string_view help,
               const std::vector<std::string>& series) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  for (const Declared& d : t.families) {
    if (d.name == name) return d.family;
  }
  const auto count = static_cast<uint32_t>(std::max<size_t>(series.size(), 1));
  if (t.used + count > Counters::kSlots)
    throw std::length_error("metrics: Counters::kSlots too small");
  Declared d{std::string(name), std::string(help), kind, {}, Family{t.used, count}};
  d.series = series;
  t.used += count;
  t.families.push_back(std::move(d));
  return t.families.back().family;
}

void Counters::merge(const Counters& other) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  for (const Declared& d : t.families) {
    for (uint32_t i = d.family.first; i < d.family.first + d.family.series; ++i) {
      switch (d.kind) {
        case Kind::kCounter:
        case Kind::kGauge:
          values_[i] += other.values_[i];
          break;
        case Kind::kGaugeMax:
          values_[i] = std::max(values_[i], other.values_[i]);
          break;
        case Kind::kShared:
          values_[i] = other.values_[i];
          break;
      }
    }
  }
}

std::string render(const Counters& totals) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  PrometheusWriter w;
  for (const Declared& d : t.families) {
    w.family(d.name, type_name(d.kind), d.help);
    if (d.series.empty()) {
      w.sample(d.name, totals.get(d.family));
      continue;
    }
    for (size_t i = 0; i < d.series.size(); ++i) {
      w.sample_with_labels(d.name, d.series[i], totals.get(d.family, i));
    }
  }
  return w.text();
}

}  // namespace turnpike::metrics
