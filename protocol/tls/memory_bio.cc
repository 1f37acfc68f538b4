// The shared OpenSSL helpers: error text and memory BIOs.
#include "protocol/tls/memory_bio.h"

#include <openssl/bio.h>
#include <openssl/err.h>

namespace herald::protocol::tls {

std::string take_openssl_error() {
  unsigned long code = ERR_peek_last_error();
  std::string text = "unknown error";
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text = buffer;
  }
  ERR_clear_error();
  return text;
}

BIO* new_memory_bio() {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr) BIO_set_mem_eof_return(bio, -1);
  return bio;
}

void append_pending(BIO* bio, std::vector<uint8_t>& out) {
  size_t pending = BIO_ctrl_pending(bio);
  if (pending == 0) return;
  size_t old_size = out.size();
  out.resize(old_size + pending);
  size_t read = 0;
  if (BIO_read_ex(bio, out.data() + old_size, pending, &read) != 1) read = 0;
  out.resize(old_size + read);
}

}  // namespace herald::protocol::tls
