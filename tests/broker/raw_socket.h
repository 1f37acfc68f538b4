// Blocking helpers for the broker tests that talk to a real worker over a loopback socket:
// whole reads and writes, and masked client frames.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "protocol/websocket/frame.h"

namespace herald::broker::net::raw_socket {

// read(2), retried when interrupted. A socket with SO_RCVTIMEO answers EINTR instead of
// restarting, and io_uring task work for rings this thread created (the backend tests' rings,
// torn down asynchronously) interrupts a blocking read that way.
inline ssize_t read_some(int fd, void* buffer, size_t bytes) {
  ssize_t n = 0;
  do {
    n = read(fd, buffer, bytes);
  } while (n < 0 && errno == EINTR);
  return n;
}

// Reads until `terminator` or EOF; returns what arrived.
inline std::string read_until(int fd, const std::string& terminator) {
  std::string in;
  char byte = 0;
  while (in.find(terminator) == std::string::npos && read_some(fd, &byte, 1) == 1) in += byte;
  return in;
}

// Reads `bytes` bytes, or fewer at EOF.
inline std::string read_exactly(int fd, size_t bytes) {
  std::string in(bytes, '\0');
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = read_some(fd, in.data() + done, bytes - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  in.resize(done);
  return in;
}

// Reads until EOF.
inline std::string read_all(int fd) {
  std::string in;
  char buffer[4096];
  for (ssize_t n = 0; (n = read_some(fd, buffer, sizeof(buffer))) > 0;) in.append(buffer, n);
  return in;
}

inline void write_all(int fd, const std::string& bytes) {
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

// A complete client frame: FIN, `opcode`, masked with a fixed key.
inline std::string masked_frame(protocol::websocket::Opcode opcode, std::string payload) {
  uint8_t header[protocol::websocket::kClientFrameHeaderBytesMax];
  const uint8_t key[4] = {9, 8, 7, 6};
  uint32_t key_word = 0;
  std::memcpy(&key_word, key, 4);
  size_t header_bytes =
      protocol::websocket::write_masked_frame_header(header, opcode, payload.size(), key_word);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
  }
  return std::string(reinterpret_cast<char*>(header), header_bytes) + payload;
}

}  // namespace herald::broker::net::raw_socket
