// A string that holds a secret. It can be used, but it never prints itself: formatting it (for
// logs) shows "***", so a secret cannot reach a log line by accident.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace turnpike {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

inline std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }

}  // namespace turnpike
