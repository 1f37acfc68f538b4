// The one error type of start-up, configuration and storage: a code and a one-line message,
// and Result<T>, a value or the reason there is none. Third-party statuses (OpenSSL, RocksDB,
// errno) are turned into a Status where they are met; none crosses a module boundary.
#pragma once

#include <string>
#include <utility>

namespace herald::common {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk,
    kInvalidArgument,  // a caller's or an operator's mistake (a bad flag, rule, key or range)
    kIoError,          // the disk or the OS refused (open, bind, write, fsync, io_uring setup)
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
  // Empty when ok; otherwise one line naming what failed, printed to the operator as it is.
  [[nodiscard]] const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the reason there is none: `value` is meaningful only when `status.is_ok()`.
// A plain aggregate, so a callee can fill the value in place and move it out.
template <typename T>
struct [[nodiscard]] Result {
  Status status;
  T value{};
};

}  // namespace herald::common
