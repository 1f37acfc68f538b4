// Reads another process's resident memory and CPU time from /proc, for the broker figures
// that herald-bench reports next to its own.
#pragma once

#include <sys/types.h>

#include <optional>

namespace herald::bench {

// VmRSS from /proc/PID/status, in KiB; nullopt if the process is gone or unreadable.
[[nodiscard]] std::optional<long> read_rss_kib(pid_t pid);

// utime + stime from /proc/PID/stat, in seconds (all threads).
[[nodiscard]] std::optional<double> read_cpu_s(pid_t pid);

// This process's own user + system CPU time, in seconds.
[[nodiscard]] double self_cpu_s();

}  // namespace herald::bench
