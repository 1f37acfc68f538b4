// The server: start-up checks, one Worker thread per io_uring, signal handling and the
// graceful shutdown. Owns the workers and the configuration they share; serves no bytes itself.
#pragma once

#include <functional>

#include "broker/net/config.h"

namespace herald::broker::net {

// Loads the configuration again (flags, variables, the file as it is now), for SIGHUP.
using ConfigLoader = std::function<FlagsResult()>;

// Runs the server until SIGINT or SIGTERM, then shuts down gracefully. Call from the main
// thread before any other thread exists (it blocks those signals for every thread it starts).
// On SIGHUP it calls `reload` (when given) and applies what can change while running: the TLS
// files and the access keys and Origin settings; it logs each change, and each change that
// needs a restart. Without `reload` SIGHUP re-reads the TLS files only.
// Returns the exit code: 0 after a graceful shutdown, 1 on a start-up failure, which it
// reports as one line on stderr naming the cause and the fix.
[[nodiscard]] int run_server(const ServerConfig& config, const ConfigLoader& reload = {});

}  // namespace herald::broker::net
