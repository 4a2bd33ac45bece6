// Private to the HTTP module: small text helpers (case, dates, URL-encoded forms, JSON errors).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turnpike::http::detail {

char ascii_lower(char c) noexcept;
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b) noexcept;
std::string_view trim_ows(std::string_view text) noexcept;  // spaces and tabs

// Dates from a Unix time (UTC): "2024-05-01T12:00:00Z", "Wed, 01 May 2024 12:00:00 +0000"
// (RFC 2822, as Twilio writes them) and "Wed, 01 May 2024 12:00:00 GMT" (HTTP Date).
std::string format_rfc3339(int64_t unix_s);
std::string format_rfc2822(int64_t unix_s);
std::string format_http_date(int64_t unix_s);

// application/x-www-form-urlencoded (also query strings): "a=1&b=x%20y+z" -> {a:1, b:"x y z"}.
// nullopt when a percent escape is malformed.
using FormFields = std::vector<std::pair<std::string, std::string>>;
std::optional<FormFields> parse_form(std::string_view text);

// {"error": code, "message": message} (JSON-escaped).
std::string json_error_body(std::string_view code, std::string_view message);

}  // namespace turnpike::http::detail
