// OpenSSL pieces the server's TLS session and the client library share: the error queue as one
// line of text, and the memory BIOs that keep TLS sans-I/O. No sockets, threads or clocks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

using BIO = struct bio_st;

namespace herald::protocol::tls {

// The newest queued OpenSSL error of this thread as text ("unknown error" when none), and the
// queue cleared: errors are per thread and a stale one would be blamed on the next failure.
[[nodiscard]] std::string take_openssl_error();

// A memory BIO that reports "retry" when empty, as a non-blocking socket would, instead of
// EOF. Null when out of memory. The caller owns it until SSL_set_bio() hands it to an SSL.
[[nodiscard]] BIO* new_memory_bio();

// Moves every byte pending in `bio` (a session's write BIO) to the end of `out`. A failed
// read appends nothing.
void append_pending(BIO* bio, std::vector<uint8_t>& out);

}  // namespace herald::protocol::tls
