// sd_notify behind a compile switch: HERALD_SYSTEMD is defined where CMake found libsystemd.
#include "broker/net/systemd_notify.h"

#ifdef HERALD_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace herald::broker::net {

#ifdef HERALD_SYSTEMD
// unset_environment 0: worker threads run by now, and unsetenv is not safe beside them.
void notify_ready(const std::string& status) {
  std::string message = "READY=1\nSTATUS=" + status;
  sd_notify(0, message.c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }
#else
void notify_ready(const std::string&) {}
void notify_stopping() {}
#endif

}  // namespace herald::broker::net
