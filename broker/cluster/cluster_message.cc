#include "broker/cluster/cluster_message.h"

#include <cassert>
#include <charconv>
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

bool parse_u64(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_epoch(std::string_view text, uint64_t& out) {
  if (text.size() != 16) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_channel_batch(std::string_view payload, ChannelBatch& out) {
  out.messages.clear();
  const size_t first = payload.find(' ');
  const size_t second = first == std::string_view::npos ? first : payload.find(' ', first + 1);
  const size_t third = second == std::string_view::npos ? second : payload.find(' ', second + 1);
  if (third == std::string_view::npos || !parse_u64(payload.substr(0, first), out.first_seq) ||
      out.first_seq == 0 ||
      !parse_epoch(payload.substr(first + 1, second - first - 1), out.epoch)) {
    return false;
  }
  std::string_view lengths = payload.substr(second + 1, third - second - 1);
  std::string_view bytes = payload.substr(third + 1);
  while (true) {
    const size_t comma = lengths.find(',');
    uint64_t length = 0;
    if (!parse_u64(lengths.substr(0, comma), length) || length > bytes.size()) {
      out.messages.clear();
      return false;
    }
    out.messages.push_back(bytes.substr(0, length));
    bytes.remove_prefix(length);
    if (comma == std::string_view::npos) break;
    lengths.remove_prefix(comma + 1);
  }
  // Every byte belongs to a message, and the numbers stay within uint64_t.
  if (!bytes.empty() || out.first_seq > UINT64_MAX - out.messages.size()) {
    out.messages.clear();
    return false;
  }
  return true;
}

}  // namespace herald::broker::cluster
