// Choosing the backend once at start-up: io_uring when this process may use it, else epoll
// with one line naming why (a seccomp filter, the sysctl, the kernel).
#include "broker/io/backend.h"

#include <sys/utsname.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "broker/io/epoll_backend.h"
#include "broker/io/ring.h"
#include "broker/io/uring_backend.h"

namespace herald::broker::io {

namespace {

// Multishot receive with provided buffers needs Linux 6.0; io_uring_setup succeeds before it.
bool kernel_before(int major_min, int minor_min, std::string& release) {
  utsname name{};
  if (uname(&name) != 0) return false;
  release = name.release;
  int major = 0;
  int minor = 0;
  if (std::sscanf(name.release, "%d.%d", &major, &minor) != 2) return false;
  return major < major_min || (major == major_min && minor < minor_min);
}

// kernel.io_uring_disabled (Linux 6.6+): 1 allows only a group, 2 disables it for everyone.
int io_uring_disabled_sysctl() {
  std::ifstream file("/proc/sys/kernel/io_uring_disabled");
  int value = 0;
  return file >> value ? value : 0;
}

// Why io_uring cannot run here, in one line; empty when it can.
std::string io_uring_unavailable() {
  int rc = probe_io_uring();
  std::string release;
  if (rc == 0) {
    if (kernel_before(6, 0, release)) {
      return "the kernel (" + release + ") is older than 6.0, which multishot receive needs";
    }
    return "";
  }
  std::string cause = std::strerror(-rc);
  if (int disabled = io_uring_disabled_sysctl(); disabled != 0 && (rc == -EPERM || rc == -EACCES)) {
    return "io_uring_setup: " + cause + ": the sysctl kernel.io_uring_disabled is " +
           std::to_string(disabled) + " (set it to 0 to allow io_uring)";
  }
  if (rc == -EPERM || rc == -EACCES) {
    return "io_uring_setup: " + cause +
           ": a seccomp filter or security policy denies io_uring (container runtimes' default "
           "profiles do; allow io_uring_setup, io_uring_enter and io_uring_register)";
  }
  if (rc == -ENOSYS) {
    return "io_uring_setup: " + cause +
           ": the kernel has no io_uring, or a seccomp filter answers ENOSYS for it";
  }
  if (rc == -EOPNOTSUPP) return "the kernel's io_uring lacks an operation Herald needs";
  return "io_uring_setup: " + cause + " (check RLIMIT_MEMLOCK and kernel.io_uring_disabled)";
}

}  // namespace

std::string_view backend_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kUring:
      return "io_uring";
    case BackendKind::kEpoll:
      return "epoll";
    case BackendKind::kSimulated:
      return "simulated";
  }
  return "unknown";
}

ResolvedBackend resolve_backend(BackendChoice choice) {
  ResolvedBackend resolved;
  if (choice == BackendChoice::kEpoll) {
    resolved.kind = BackendKind::kEpoll;
    return resolved;
  }
  std::string cause = io_uring_unavailable();
  if (cause.empty()) return resolved;
  if (choice == BackendChoice::kUring) {
    resolved.failure = "--io uring: " + cause;
  } else {
    resolved.kind = BackendKind::kEpoll;
    resolved.fallback_cause = cause;
  }
  return resolved;
}

std::unique_ptr<Backend> make_backend(BackendKind kind) {
  assert(kind != BackendKind::kSimulated && "a simulation is built by its test, with a seed");
  if (kind == BackendKind::kUring) return std::make_unique<UringBackend>();
  return std::make_unique<EpollBackend>();
}

}  // namespace herald::broker::io
