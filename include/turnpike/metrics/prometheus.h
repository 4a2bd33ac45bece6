// Prometheus text exposition format 0.0.4: a writer that emits each family's HELP and TYPE once,
// with label values escaped. Labels are only ever small fixed sets (transport, direction, reason,
// listener): never a username, address or allocation.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace turnpike::metrics {

using Label = std::pair<std::string_view, std::string_view>;

class PrometheusWriter {
 public:
  // Starts a family; call before its samples.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, double value, std::initializer_list<Label> labels = {});
  void sample(std::string_view name, uint64_t value, std::initializer_list<Label> labels = {});
  // A sample whose labels are already written (`a="x",b="y"`: fixed sets declared in code).
  void sample_with_labels(std::string_view name, std::string_view labels, uint64_t value);
  [[nodiscard]] const std::string& text() const noexcept { return out_; }

 private:
  void labels(std::initializer_list<Label> labels);
  std::string out_;
};

}  // namespace turnpike::metrics
