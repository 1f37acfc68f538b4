// The parts of the replay cursor that do not depend on the caller's frame type.
#include "broker/core/replay_cursor.h"

namespace herald::broker::core {

std::string epoch_text(uint64_t epoch) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i, epoch >>= 4) text[static_cast<size_t>(i)] = kHex[epoch & 15];
  return text;
}

}  // namespace herald::broker::core
