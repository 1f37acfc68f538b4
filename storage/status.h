// The storage module's one error type. RocksDB's statuses are converted into it inside
// rocksdb_log.cc, so no third-party type crosses the module boundary.
#pragma once

#include <string>
#include <utility>

namespace herald::storage {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk,
    kInvalidArgument,  // a caller's mistake (a sequence not above the last, a bad rule)
    kIoError,          // the disk or the OS refused (open, write, fsync, disk full)
    kCorruption,       // stored bytes that cannot be what we wrote
  };

  Status() = default;
  static Status ok() { return {}; }
  static Status invalid_argument(std::string message) {
    return {Code::kInvalidArgument, std::move(message)};
  }
  static Status io_error(std::string message) { return {Code::kIoError, std::move(message)}; }
  static Status corruption(std::string message) { return {Code::kCorruption, std::move(message)}; }

  [[nodiscard]] bool is_ok() const { return code_ == Code::kOk; }
  [[nodiscard]] Code code() const { return code_; }
  // Empty when ok; otherwise one line naming what failed, for a log line.
  [[nodiscard]] const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace herald::storage
