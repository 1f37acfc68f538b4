// The server: start-up checks, one Worker thread per io_uring, signal handling and the
// graceful shutdown. Owns the workers and the configuration they share; serves no bytes itself.
#pragma once

#include "broker/net/config.h"

namespace herald::broker::net {

// Runs the server until SIGINT or SIGTERM, then shuts down gracefully. Call from the main
// thread before any other thread exists (it blocks those signals for every thread it starts).
// Returns the exit code: 0 after a graceful shutdown, 1 on a start-up failure, which it
// reports as one line on stderr naming the cause and the fix.
[[nodiscard]] int run_server(const ServerConfig& config);

}  // namespace herald::broker::net
