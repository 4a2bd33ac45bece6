#include "sd_notify.h"

#include <systemd/sd-daemon.h>

namespace turnpike::daemon {

void notify_systemd(const char* state) noexcept { (void)sd_notify(0, state); }

}  // namespace turnpike::daemon
