// Which close codes a peer may send (RFC 6455 §7.4).
#include "protocol/websocket/close_code.h"

#include <gtest/gtest.h>

namespace herald::protocol::websocket {
namespace {

TEST(CloseCodeTest, AcceptsRegisteredAndPrivateCodes) {
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                        3000, 3999, 4000, 4999}) {
    EXPECT_TRUE(is_valid_wire_close_code(code)) << code;
  }
}

TEST(CloseCodeTest, RefusesCodesNotAllowedOnTheWire) {
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(is_valid_wire_close_code(code)) << code;
  }
}

}  // namespace
}  // namespace herald::protocol::websocket
