// /proc parsing for proc_stats.h. /proc/PID/stat is split after the last ')' because the
// command name in field 2 may itself contain spaces and parentheses (proc(5)).
#include "clients/cpp/bench/proc_stats.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace herald::bench {

namespace {

// The first 4 KiB of a /proc file: enough for stat, and for status up to VmRSS.
std::string read_proc_file(pid_t pid, const char* name) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text(4096, '\0');
  const ssize_t got = ::read(fd, text.data(), text.size());
  ::close(fd);
  text.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return text;
}

}  // namespace

std::optional<long> read_rss_kib(pid_t pid) {
  const std::string text = read_proc_file(pid, "status");
  const size_t at = text.find("\nVmRSS:");
  long kib = 0;
  if (at == std::string::npos || std::sscanf(text.c_str() + at, "\nVmRSS: %ld kB", &kib) != 1) {
    return std::nullopt;
  }
  return kib;
}

std::optional<double> read_cpu_s(pid_t pid) {
  const std::string text = read_proc_file(pid, "stat");
  const size_t name_end = text.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  // After the name come fields 3 (state) to 13, then utime and stime (14, 15), in ticks.
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (std::sscanf(text.c_str() + name_end + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
    return std::nullopt;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace herald::bench
