// A real redis-server for one test: started on a free loopback port in its own temp dir
// (never the system service), driven by redis-cli, killed at the end. Every wait is bounded.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/storage/temp_dir.h"

namespace herald::broker::cluster::test {

// A loopback port nobody listens on now (bound and released: a race with other programs is
// possible but harmless on a test machine, where start() would then fail visibly).
inline uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Runs a shell command, returns its standard output with the last newline removed.
inline std::string shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

class RedisServer {
 public:
  explicit RedisServer(uint16_t port = free_port()) : port_(port) {}
  ~RedisServer() { kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server with `args` after the common ones; true once it answers PING.
  bool start(const std::vector<std::string>& args = {"--save", "", "--appendonly", "no"}) {
    kill();
    std::vector<std::string> all{"redis-server", "--port",    std::to_string(port_), "--bind",
                                 "127.0.0.1",    "--dir",     dir_.path(),           "--daemonize",
                                 "no",           "--logfile", dir_.sub("redis.log")};
    all.insert(all.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (std::string& arg : all) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 500; ++i) {  // up to 5 s
      if (cli("PING") == "PONG") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // SIGKILL: no shutdown save, as a crash.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);  // a stopped process dies of SIGKILL too; this is harmless
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // SIGSTOP and SIGCONT: a server that hangs with its connections open.
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

  // One redis-cli command (arguments as the shell splits them; quote inside if needed).
  std::string cli(const std::string& args) const {
    return shell("redis-cli -p " + std::to_string(port_) + " " + cli_auth_ + " " + args + " 2>&1");
  }
  // redis-cli options for a server that requires AUTH (before start()).
  void set_cli_auth(std::string options) { cli_auth_ = std::move(options); }

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] const storage::test::TempDir& dir() const { return dir_; }

 private:
  uint16_t port_;
  storage::test::TempDir dir_;
  pid_t pid_ = -1;
  std::string cli_auth_;
};

}  // namespace herald::broker::cluster::test
