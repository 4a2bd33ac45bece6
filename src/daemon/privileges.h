#pragma once

#include <string>

namespace turnpike::daemon {

// When running as root and `user` is set: switch to that user and group (the user's primary group
// unless `group` is given), dropping supplementary groups. Throws std::runtime_error naming the
// problem. Running as root without `user` only logs a warning.
void drop_privileges(const std::string& user, const std::string& group);

}  // namespace turnpike::daemon
