#include "privileges.h"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace turnpike::daemon {

void drop_privileges(const std::string& user, const std::string& group) {
  if (geteuid() != 0) {
    if (!user.empty()) spdlog::info("not root: ignoring user '{}'", user);
    return;
  }
  if (user.empty()) {
    spdlog::warn("running as root: set \"user\" in the config to drop privileges after binding");
    return;
  }
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) throw std::runtime_error("user: no such user '" + user + "'");
  gid_t gid = pw->pw_gid;
  if (!group.empty()) {
    const struct group* gr = getgrnam(group.c_str());
    if (gr == nullptr) throw std::runtime_error("group: no such group '" + group + "'");
    gid = gr->gr_gid;
  }
  // Order matters: groups first, while we still may change them.
  if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
    throw std::runtime_error(std::string("cannot drop privileges to '") + user +
                             "': " + std::strerror(errno));
  }
  if (setuid(0) == 0) throw std::runtime_error("privileges could be regained after dropping them");
  spdlog::info("dropped privileges to user '{}' (uid {}, gid {})", user, pw->pw_uid, gid);
}

}  // namespace turnpike::daemon
