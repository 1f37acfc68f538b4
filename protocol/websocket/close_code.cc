#include "protocol/websocket/close_code.h"

namespace herald::protocol::websocket {

bool is_valid_wire_close_code(uint16_t code) {
  // 1004 is reserved; 1005, 1006 and 1015 exist only to be reported locally (§7.4.1).
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

}  // namespace herald::protocol::websocket
