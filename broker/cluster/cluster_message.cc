#include "broker/cluster/cluster_message.h"

#include <cassert>
#include <cstring>

namespace herald::broker::cluster {

namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kBinary = 1;
constexpr uint8_t kEcho = 2;

template <typename T>
void put_le(char* out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

template <typename T>
T get_le(const char* in) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<uint8_t>(in[i])) << (8 * i);
  }
  return value;
}

}  // namespace

std::string encode_cluster_message(const ClusterMessage& message) {
  assert(message.node.size() == kNodeTokenChars);
  std::string out(kMessageHeaderBytes + message.payload.size(), '\0');
  out[0] = static_cast<char>(kVersion);
  out[1] = static_cast<char>((message.binary ? kBinary : 0) | (message.echo ? kEcho : 0));
  std::memcpy(out.data() + 2, message.node.data(), kNodeTokenChars);
  put_le(out.data() + 18, message.worker);
  put_le(out.data() + 22, message.connection);
  if (!message.payload.empty()) {
    std::memcpy(out.data() + kMessageHeaderBytes, message.payload.data(), message.payload.size());
  }
  return out;
}

bool decode_cluster_message(std::string_view bytes, ClusterMessage& out) {
  if (bytes.size() < kMessageHeaderBytes || static_cast<uint8_t>(bytes[0]) != kVersion) {
    return false;
  }
  const auto flags = static_cast<uint8_t>(bytes[1]);
  if ((flags & ~(kBinary | kEcho)) != 0) return false;
  out.binary = (flags & kBinary) != 0;
  out.echo = (flags & kEcho) != 0;
  out.node = bytes.substr(2, kNodeTokenChars);
  out.worker = get_le<uint32_t>(bytes.data() + 18);
  out.connection = get_le<uint64_t>(bytes.data() + 22);
  const std::string_view payload = bytes.substr(kMessageHeaderBytes);
  out.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
  return true;
}

}  // namespace herald::broker::cluster
