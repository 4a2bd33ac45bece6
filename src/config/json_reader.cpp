#include "json_reader.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>
#include <vector>

namespace turnpike::config::detail {
namespace {

bool is_simple_key(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

const char* type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "float";
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return "invalid value";
}

// Levenshtein distance, for "did you mean" on unknown keys (keys are short).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// nlohmann's syntax errors quote the offending token ("; last read: '\"hunter2'"), which may be
// part of a secret. Keep everything else: the position, the description and what was expected.
std::string without_last_read(const std::string& description) {
  static constexpr std::string_view kLastRead = "; last read: '";
  const size_t start = description.find(kLastRead);
  if (start == std::string::npos) return description;
  std::string out = description.substr(0, start);
  static constexpr std::array<std::string_view, 13> kExpected = {"true literal",
                                                                 "false literal",
                                                                 "null literal",
                                                                 "string literal",
                                                                 "number literal",
                                                                 "'['",
                                                                 "'{'",
                                                                 "']'",
                                                                 "'}'",
                                                                 "':'",
                                                                 "','",
                                                                 "end of input",
                                                                 "'[', '{', or a literal"};
  for (const std::string_view expected : kExpected) {
    const std::string suffix = "'; expected " + std::string(expected);
    if (description.size() >= suffix.size() &&
        description.compare(description.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out += suffix.substr(1);
      break;
    }
  }
  return out;
}

std::string syntax_error_message(const Json::parse_error& e) {
  // what(): "[json.exception.parse_error.101] parse error at line 3, column 20: syntax error ..."
  std::string what = e.what();
  const size_t tag_end = what.find("] ");
  if (tag_end != std::string::npos) what.erase(0, tag_end + 2);
  const size_t colon = what.find(": ");
  const std::string byte = "byte " + std::to_string(e.byte);
  if (colon == std::string::npos) return "parse error at " + byte + ": " + without_last_read(what);
  return what.substr(0, colon) + " (" + byte + "): " + without_last_read(what.substr(colon + 2));
}

// Follows the parser's events to know each value's key path, and reports keys seen twice in one
// object (nlohmann would silently keep the last one).
class DuplicateKeyFinder {
 public:
  explicit DuplicateKeyFinder(Reader& reader) : reader_(reader) {}

  bool on_event(nlohmann::detail::parse_event_t event, const Json& parsed) {
    using Event = nlohmann::detail::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        frames_.push_back(Frame{event == Event::array_start, {}, {}, 0});
        break;
      case Event::key:
        if (!frames_.empty() && parsed.is_string()) {
          Frame& frame = frames_.back();
          frame.key = parsed.get<std::string>();
          if (!frame.seen.insert(frame.key).second) {
            reader_.error(key_path(parent_path(), frame.key), "duplicate key");
          }
        }
        break;
      case Event::object_end:
      case Event::array_end:
        if (!frames_.empty()) frames_.pop_back();
        next_element();
        break;
      case Event::value:
        next_element();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_array;
    std::string key;
    std::set<std::string> seen;
    size_t index;
  };

  // The path of the innermost container, built only when needed (storing one per level would
  // cost memory quadratic in the nesting depth).
  std::string parent_path() const {
    std::string path;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& frame = frames_[i];
      path = frame.is_array ? index_path(path, frame.index) : key_path(path, frame.key);
    }
    return path;
  }
  void next_element() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }

  Reader& reader_;
  std::vector<Frame> frames_;
};

}  // namespace

std::string key_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (is_simple_key(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[' + quote_json(key) + ']';
  }
  return out;
}

std::string index_path(std::string_view parent, size_t index) {
  return std::string(parent) + '[' + std::to_string(index) + ']';
}

std::string quote_json(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

size_t utf8_length(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

std::optional<Json> parse_json(std::string_view text, ConfigErrors& errors) {
  Reader reader(errors);
  DuplicateKeyFinder duplicates(reader);
  try {
    return Json::parse(
        text.begin(), text.end(),
        [&duplicates](int, nlohmann::detail::parse_event_t event, Json& parsed) {
          return duplicates.on_event(event, parsed);
        },
        /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    reader.error("", syntax_error_message(e));
  } catch (const Json::out_of_range&) {  // e.g. 1e400; its message would quote the number
    reader.error("", "a number is too large to represent");
  } catch (const std::exception&) {
    reader.error("", "cannot parse the JSON text");
  }
  return std::nullopt;
}

void Reader::error(std::string_view path, std::string_view message) {
  std::string line = path.empty() ? std::string("(root)") : std::string(path);
  line += ": ";
  line += message;
  errors_.messages.push_back(std::move(line));
}

void Reader::type_error(const Json& value, std::string_view path, std::string_view expected) {
  error(path, "expected " + std::string(expected) + ", got " + type_name(value));
}

std::optional<std::string> Reader::string(const Json& value, std::string_view path) {
  if (!value.is_string()) {
    type_error(value, path, "a string");
    return std::nullopt;
  }
  return value.get<std::string>();
}

std::optional<bool> Reader::boolean(const Json& value, std::string_view path) {
  if (!value.is_boolean()) {
    type_error(value, path, "a boolean");
    return std::nullopt;
  }
  return value.get<bool>();
}

std::optional<uint64_t> Reader::integer(const Json& value, std::string_view path, uint64_t min,
                                        uint64_t max) {
  if (!value.is_number_integer()) {
    type_error(value, path, "an integer");
    return std::nullopt;
  }
  const std::string range = " is out of range " + std::to_string(min) + "-" + std::to_string(max);
  if (!value.is_number_unsigned()) {
    const auto n = value.get<int64_t>();
    if (n < 0) {
      error(path, std::to_string(n) + range);
      return std::nullopt;
    }
  }
  const auto n = value.get<uint64_t>();
  if (n < min || n > max) {
    error(path, std::to_string(n) + range);
    return std::nullopt;
  }
  return n;
}

std::optional<IpAddress> Reader::ip_address(const Json& value, std::string_view path) {
  auto text = string(value, path);
  if (!text) return std::nullopt;
  // IpAddress::parse reads a C string: an embedded NUL would hide the rest of the text.
  std::optional<IpAddress> ip;
  if (text->find('\0') == std::string::npos) ip = IpAddress::parse(*text);
  if (!ip) error(path, quote_json(*text) + " is not an IP address");
  return ip;
}

bool Reader::array(const Json& value, std::string_view path) {
  if (value.is_array()) return true;
  type_error(value, path, "an array");
  return false;
}

void Reader::object(const Json& value, std::string_view path, std::initializer_list<Field> fields) {
  if (!value.is_object()) {
    type_error(value, path, "an object");
    return;
  }
  // Known keys in schema order (the order of the docs), then the unknown ones in key order.
  for (const Field& field : fields) {
    const auto it = value.find(field.name);
    if (it != value.end()) field.read(*it, key_path(path, field.name));
  }
  for (const auto& [key, unused] : value.items()) {
    const auto is_key = [&key = key](const Field& f) { return f.name == key; };
    if (std::any_of(fields.begin(), fields.end(), is_key)) continue;
    std::string message = "unknown key";
    for (const Field& f : fields) {
      if (edit_distance(key, f.name) <= 2) {
        message += " (did you mean \"" + std::string(f.name) + "\"?)";
        break;
      }
    }
    error(key_path(path, key), message);
  }
}

}  // namespace turnpike::config::detail
