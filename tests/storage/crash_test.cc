// Durability across kill -9: a child process appends in sync mode and reports every settled
// ticket through a pipe; the parent kills it mid-stream, reopens the log and checks that every
// acknowledged message is there, exactly once, in order, and that no sequence is reused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "storage/rocksdb_log.h"
#include "storage/storage_writer.h"
#include "tests/storage/temp_dir.h"

namespace herald::storage {
namespace {

constexpr const char* kDirVariable = "HERALD_CRASH_DIR";
constexpr const char* kFdVariable = "HERALD_CRASH_FD";
constexpr const char* kTopic = "crash.t";
constexpr uint64_t kAckedWanted = 3000;

std::string payload_of(uint64_t seq) {
  std::string out(static_cast<size_t>(seq % 97), 'x');
  out.append(std::to_string(seq));
  return out;
}

StorageConfig crash_config(const std::string& dir) {
  StorageConfig config;
  config.data_dir = dir;
  config.rules = HistoryRules::parse({"crash.>=rocksdb,count=100000000,durability=sync"}).value;
  config.append_queue_capacity = 1024;
  config.rocksdb_write_buffer_bytes = 1 << 20;
  return config;
}

// The child's side: runs only when the parent started this binary with the variables set.
TEST(RocksDbCrash, ChildAppendsUntilKilled) {
  const char* dir = std::getenv(kDirVariable);
  const char* fd_text = std::getenv(kFdVariable);
  if (!dir || !fd_text) GTEST_SKIP() << "the child of RocksDbCrash.AckedMessagesSurviveKill9";
  int fd = std::atoi(fd_text);
  auto opened = StorageWriter::open(crash_config(dir));
  ASSERT_TRUE(opened.status.is_ok()) << opened.status.message();
  StorageWriter& writer = *opened.value;
  writer.start();
  StorageProducer& producer = writer.producer(0);
  uint64_t reported = 0;
  // Bounded: the parent kills us long before this many messages.
  for (uint64_t seq = 1; seq <= 10'000'000; ++seq) {
    AppendRequest request{kTopic, seq, static_cast<int64_t>(seq), false, payload_of(seq)};
    while (producer.try_append(std::move(request)) == 0) producer.submit();
    if (seq % 8 == 0) producer.submit();
    uint64_t done = producer.done_upto();
    ASSERT_EQ(producer.failed_from(), UINT64_MAX);
    if (done > reported) {
      reported = done;  // ticket n is seq n: one producer, one topic, from 1
      if (write(fd, &reported, sizeof reported) != sizeof reported) return;  // parent gone
    }
  }
}

TEST(RocksDbCrash, AckedMessagesSurviveKill9) {
  test::TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // Everything exec needs is built before fork: the child may only call async-signal-safe
  // functions until it execs.
  std::string exe = "/proc/self/exe";
  std::string filter = "--gtest_filter=RocksDbCrash.ChildAppendsUntilKilled";
  std::string dir_variable = std::string(kDirVariable) + "=" + dir.sub("data");
  std::string fd_variable = std::string(kFdVariable) + "=" + std::to_string(fds[1]);
  char* argv[] = {exe.data(), filter.data(), nullptr};
  char* envp[] = {dir_variable.data(), fd_variable.data(), nullptr};
  int quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);  // the child's gtest chatter
  ASSERT_GE(quiet, 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    dup2(quiet, STDOUT_FILENO);
    execve(exe.c_str(), argv, envp);
    _exit(127);
  }
  close(fds[1]);
  close(quiet);

  uint64_t acked = 0;
  for (int polls = 0; polls < 600 && acked < kAckedWanted; ++polls) {  // at most a minute
    pollfd readable{fds[0], POLLIN, 0};
    if (poll(&readable, 1, 100) <= 0) continue;
    uint64_t value = 0;
    ssize_t got = read(fds[0], &value, sizeof value);
    if (got != sizeof value) break;  // the child ended (or wrote half a value: it died)
    acked = value;
  }
  kill(child, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  // Acks still in the pipe were also given before the kill: count them too.
  for (uint64_t value = 0; read(fds[0], &value, sizeof value) == sizeof value;) acked = value;
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(wait_status)) << "the child ended before it was killed";
  ASSERT_GE(acked, kAckedWanted);

  RocksDbOptions options;
  options.path = dir.sub("data/history");
  auto log = RocksDbLog::open(options, [](std::string_view) { return Retention{}; });
  ASSERT_TRUE(log.status.is_ok()) << log.status.message();
  TopicState state = log.value->state(kTopic).value;
  EXPECT_GE(state.last_seq, acked);
  EXPECT_EQ(state.first_seq, 1u);
  auto all = log.value->read(kTopic, 1, {});
  ASSERT_TRUE(all.status.is_ok()) << all.status.message();
  ASSERT_EQ(all.value.size(), state.last_seq);  // nothing lost, nothing twice
  for (uint64_t seq = 1; seq <= state.last_seq; ++seq) {
    ASSERT_EQ(all.value[seq - 1].seq, seq);
    ASSERT_EQ(all.value[seq - 1].payload, payload_of(seq));
  }
  // The next sequence goes after everything on disk, acknowledged or not.
  std::vector<AppendEntry> reuse = {{kTopic, state.last_seq, 0, false, "x"}};
  EXPECT_EQ(log.value->append(reuse, true).code(), Status::Code::kInvalidArgument);
  std::vector<AppendEntry> next = {{kTopic, state.last_seq + 1, 0, false, "x"}};
  EXPECT_TRUE(log.value->append(next, true).is_ok());
  std::printf("acked %llu before kill -9, found %llu\n", static_cast<unsigned long long>(acked),
              static_cast<unsigned long long>(state.last_seq));
}

}  // namespace
}  // namespace herald::storage
