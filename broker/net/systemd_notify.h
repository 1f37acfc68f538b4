// Tells systemd how start-up and shutdown go (Type=notify in deploy/herald.service), through
// libsystemd's sd_notify. A build without libsystemd, or a broker not started by systemd
// (no NOTIFY_SOCKET), makes these calls do nothing.
#pragma once

#include <string>

namespace herald::broker::net {

// READY=1 with a STATUS= line: every listener accepts. Called once, from the signal thread.
void notify_ready(const std::string& status);

// STOPPING=1: shutdown has begun; systemd waits for the exit up to TimeoutStopSec.
void notify_stopping();

}  // namespace herald::broker::net
