// Masked frame encoding for clients: the header comes from protocol/, the masking is the
// protocol's unmask() run over the payload, since XOR with the key is its own inverse.
#include "clients/cpp/lib/client_frame.h"

#include <cstring>
#include <random>

#include "protocol/websocket/unmask.h"

namespace herald::client {

namespace ws = protocol::websocket;

size_t write_client_frame_header(uint8_t* out, ws::Opcode opcode, uint64_t payload_bytes,
                                 uint32_t mask_key) {
  return ws::write_masked_frame_header(out, opcode, payload_bytes, mask_key);
}

void mask_payload(std::span<uint8_t> payload, uint32_t mask_key) {
  ws::unmask(payload.data(), payload.size(), mask_key, 0);
}

size_t write_client_frame(uint8_t* out, ws::Opcode opcode, std::span<const uint8_t> payload,
                          uint32_t mask_key) {
  const size_t header_bytes = write_client_frame_header(out, opcode, payload.size(), mask_key);
  if (!payload.empty()) {
    std::memcpy(out + header_bytes, payload.data(), payload.size());
  }
  mask_payload({out + header_bytes, payload.size()}, mask_key);
  return header_bytes + payload.size();
}

MaskKeyGenerator::MaskKeyGenerator() {
  std::random_device device;
  state_ = (uint64_t{device()} << 32) | device();
}

}  // namespace herald::client
