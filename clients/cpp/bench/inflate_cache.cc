#include "clients/cpp/bench/inflate_cache.h"

namespace herald::bench {

namespace ws = protocol::websocket;

const std::string* InflateCache::inflate(std::span<const uint8_t> compressed, uint64_t bytes_max) {
  std::string key(reinterpret_cast<const char*>(compressed.data()), compressed.size());
  if (auto it = entries_.find(key); it != entries_.end()) {
    ++hits_;
    return &it->second;
  }
  ++misses_;
  if (!inflater_) inflater_ = std::make_unique<ws::Inflater>();
  inflater_->reset();
  std::string out;
  if (inflater_->inflate(compressed, out, bytes_max) != ws::Inflater::Status::kOk ||
      inflater_->finish_message(out, bytes_max) != ws::Inflater::Status::kOk) {
    return nullptr;
  }
  if (entries_.size() >= kEntriesMax) entries_.clear();
  return &entries_.emplace(std::move(key), std::move(out)).first->second;
}

}  // namespace herald::bench
