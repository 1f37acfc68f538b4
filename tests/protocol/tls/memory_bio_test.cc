// The shared OpenSSL helpers: the error queue read once and cleared, memory BIOs that say
// "retry" when empty, and pending bytes appended in order without loss.
#include "protocol/tls/memory_bio.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>

#include <cstdint>
#include <string>
#include <vector>

namespace herald::protocol::tls {
namespace {

TEST(MemoryBioTest, EmptyBioAsksToRetryInsteadOfEof) {
  BIO* bio = new_memory_bio();
  ASSERT_NE(bio, nullptr);
  char byte = 0;
  EXPECT_LE(BIO_read(bio, &byte, 1), 0);
  EXPECT_TRUE(BIO_should_retry(bio));
  BIO_free(bio);
}

TEST(MemoryBioTest, AppendPendingMovesEveryByteInOrder) {
  BIO* bio = new_memory_bio();
  ASSERT_NE(bio, nullptr);
  std::vector<uint8_t> out = {'>'};
  append_pending(bio, out);  // nothing pending: nothing appended
  EXPECT_EQ(out.size(), 1u);
  const std::string first = "hello ";
  const std::string second(70000, 'x');  // larger than one BIO buffer
  ASSERT_EQ(BIO_write(bio, first.data(), static_cast<int>(first.size())),
            static_cast<int>(first.size()));
  ASSERT_EQ(BIO_write(bio, second.data(), static_cast<int>(second.size())),
            static_cast<int>(second.size()));
  append_pending(bio, out);
  EXPECT_EQ(std::string(out.begin(), out.end()), ">" + first + second);
  EXPECT_EQ(BIO_ctrl_pending(bio), 0u);
  BIO_free(bio);
}

TEST(OpensslErrorTest, TakesTheNewestErrorAndClearsTheQueue) {
  ERR_clear_error();
  EXPECT_EQ(take_openssl_error(), "unknown error");
  ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
  const std::string text = take_openssl_error();
  EXPECT_NE(text, "unknown error");
  EXPECT_NE(text.find("error:"), std::string::npos) << text;
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(take_openssl_error(), "unknown error");
}

}  // namespace
}  // namespace herald::protocol::tls
