#pragma once

namespace turnpike::daemon {

// Tells systemd (Type=notify) about READY/RELOADING/STOPPING; a no-op outside systemd.
void notify_systemd(const char* state) noexcept;

}  // namespace turnpike::daemon
