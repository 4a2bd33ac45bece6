// The top-level loader: reads the file, parses the JSON, and hands each top-level key to its
// section in src/config/sections/ (sections.h lists them); then the environment overrides and
// validate(), section by section in the same order.
#include "turnpike/config/config_loader.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "json_reader.h"
#include "sections/sections.h"

namespace turnpike::config {
namespace {

using detail::Json;
using detail::Reader;

constexpr std::uintmax_t kMaxFileBytes = 16U << 20U;

// Known keys are read in this order, so their errors come in this order; unknown keys come last.
void read_document(Reader& r, const Json& root, Config& config) {
  const auto section = [&r, &config](detail::SectionReader read) {
    return [&r, &config, read](const Json& v, const std::string& p) { read(r, v, p, config); };
  };
  r.object(root, "",
           {{"listeners", section(detail::read_listeners)},
            {"relay", section(detail::read_relay)},
            {"auth", section(detail::read_auth)},
            {"allocation", section(detail::read_allocation)},
            {"peers", section(detail::read_peers)},
            {"limits", section(detail::read_limits)},
            {"shutdown", section(detail::read_shutdown)},
            {"log", section(detail::read_log)},
            {"tls", section(detail::read_tls)},
            {"credentials", section(detail::read_credentials)},
            {"workers", section(detail::read_workers)},
            {"user", section(detail::read_user)},
            {"group", section(detail::read_group)},
            {"software", section(detail::read_software)}});
  detail::apply_default_listeners(root, config);
  detail::require_relay_address(root, r);
}

std::optional<std::string> read_file(const std::string& path, ConfigErrors& errors) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_directory(status)) {
    errors.messages.push_back(path + ": is a directory, not a config file");
    return std::nullopt;
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno != 0 ? errno : ENOENT;
    errors.messages.push_back(path + ": cannot open: " + std::generic_category().message(error));
    return std::nullopt;
  }
  std::string text;
  std::array<char, 65536> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    text.append(buffer.data(), static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      errors.messages.push_back(path + ": larger than 16 MiB, not a config file");
      return std::nullopt;
    }
  }
  if (in.bad()) {
    errors.messages.push_back(path + ": cannot read");
    return std::nullopt;
  }
  return text;
}

}  // namespace

namespace detail {

std::string_view env_trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string_view> env_list_items(std::string_view value) {
  std::vector<std::string_view> items;
  while (true) {
    const size_t comma = value.find(',');
    const std::string_view item = env_trim(value.substr(0, comma));
    if (!item.empty()) items.push_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return items;
}

}  // namespace detail

Result<Config, ConfigErrors> parse_config(std::string_view json_text) {
  ConfigErrors errors;
  Config config;
  try {
    std::optional<Json> root = detail::parse_json(json_text, errors);
    if (root) {
      Reader reader(errors);
      read_document(reader, *root, config);
    }
  } catch (const std::exception&) {  // nlohmann or allocation failure: never let it escape
    errors.messages.emplace_back("(root): internal error while reading the configuration");
  }
  if (!errors.messages.empty()) return unexpected(std::move(errors));
  return config;
}

Result<Config, ConfigErrors> load_config_file(const std::string& path) {
  ConfigErrors errors;
  std::optional<std::string> text = read_file(path, errors);
  if (!text) return unexpected(std::move(errors));
  return parse_config(*text);
}

void apply_env_overrides(Config& config, GetEnv getenv_fn) {
  if (getenv_fn == nullptr) {
    getenv_fn = [](const char* name) -> const char* { return std::getenv(name); };
  }
  detail::apply_auth_env(config.auth, getenv_fn);
  detail::apply_credentials_env(config.credentials, getenv_fn);
}

void validate(const Config& config, ConfigErrors& errors) {
  Reader r(errors);
  // The order of the messages: the order of these checks.
  constexpr std::array<detail::SectionValidator, 11> kSections = {
      detail::validate_listeners,  detail::validate_relay,     detail::validate_auth,
      detail::validate_allocation, detail::validate_limits,    detail::validate_shutdown,
      detail::validate_peers,      detail::validate_log,       detail::validate_credentials,
      detail::validate_tls,        detail::validate_top_level,
  };
  for (const detail::SectionValidator check : kSections) check(config, r);
}

}  // namespace turnpike::config
