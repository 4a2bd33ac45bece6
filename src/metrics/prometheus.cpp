#include "turnpike/metrics/prometheus.h"

#include <charconv>
#include <cmath>

namespace turnpike::metrics {

void PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ");
  for (const char c : help) {  // HELP escapes backslash and newline
    if (c == '\\') {
      out_.append("\\\\");
    } else if (c == '\n') {
      out_.append("\\n");
    } else {
      out_.push_back(c);
    }
  }
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusWriter::labels(std::initializer_list<Label> labels) {
  if (labels.size() == 0) return;
  out_.push_back('{');
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append(key).append("=\"");
    for (const char c : value) {  // label values escape backslash, quote and newline
      if (c == '\\' || c == '"') {
        out_.push_back('\\');
        out_.push_back(c);
      } else if (c == '\n') {
        out_.append("\\n");
      } else {
        out_.push_back(c);
      }
    }
    out_.push_back('"');
  }
  out_.push_back('}');
}

void PrometheusWriter::sample(std::string_view name, uint64_t value,
                              std::initializer_list<Label> l) {
  out_.append(name);
  labels(l);
  out_.append(" ").append(std::to_string(value)).append("\n");
}

void PrometheusWriter::sample(std::string_view name, double value, std::initializer_list<Label> l) {
  out_.append(name);
  labels(l);
  out_.push_back(' ');
  if (std::isfinite(value)) {
    char buf[64];
    const auto [end, error] =
        std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, 17);
    out_.append(buf, error == std::errc{} ? end : buf);
  } else {
    out_.append(std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf"));
  }
  out_.push_back('\n');
}

void PrometheusWriter::sample_with_labels(std::string_view name, std::string_view labels,
                                          uint64_t value) {
  out_.append(name).append("{").append(labels).append("} ");
  out_.append(std::to_string(value)).append("\n");
}

}  // namespace turnpike::metrics
