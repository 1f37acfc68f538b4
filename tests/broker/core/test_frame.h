// A frame type for the core engine's tests: the shape core::Sequencer needs (allocate, bytes
// and meta), refcounted by std::shared_ptr, so the engine runs with no broker/net buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "broker/core/publication.h"

namespace herald::broker::core::test {

class TestFrame {
 public:
  TestFrame() = default;
  static TestFrame allocate(size_t bytes, size_t meta_bytes = 0) {
    TestFrame frame;
    frame.block_ = std::make_shared<Block>();
    frame.block_->bytes.resize(bytes);
    frame.block_->meta.resize(meta_bytes);
    return frame;
  }
  [[nodiscard]] std::span<uint8_t> mutable_bytes() { return block_->bytes; }
  [[nodiscard]] std::span<uint8_t> mutable_meta() { return block_->meta; }
  [[nodiscard]] std::span<const uint8_t> bytes() const { return block_->bytes; }
  [[nodiscard]] std::span<const uint8_t> meta() const { return block_->meta; }
  [[nodiscard]] FrameOrigin origin() const { return frame_origin_read(meta()); }
  [[nodiscard]] long use_count() const { return block_.use_count(); }

 private:
  struct Block {
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> meta;
  };
  std::shared_ptr<Block> block_;
};

}  // namespace herald::broker::core::test
