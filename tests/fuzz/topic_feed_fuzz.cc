// The per-topic sequence check of messages from Redis (broker/cluster/topic_feed.h) driven by
// any order of live messages, range answers, outages and an anchor, with the invariant its
// subscribers rely on checked after every step: within one history, each delivery's number is
// the previous one plus the gap reported since, plus one; a new history is announced before
// its first message. Also feeds the input to the stored-message decoder and the channel batch
// parser. Traps on a breach.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "broker/cluster/cluster_message.h"
#include "broker/cluster/topic_feed.h"

namespace herald::broker::cluster {
namespace {

// Input: a sequence of steps, each an op byte then its arguments:
//   op % 5 == 0: a live message: seq byte (1 + value % 64), epoch byte (1 + value % 3);
//   1: the answer to the read asked for last: status byte (0 ok, 1 unavailable, 2 error),
//      epoch byte (0 none, else 1 + value % 3), entry-mask byte (which seqs of the read's range,
//      at most 8 from its start, the stream still holds), last-seq byte (extra above the range);
//      epoch 0 answers as Redis does for a topic without state: last seq 0, no entries;
//   2: the link reconnected;   3: anchor (only first);   4: a decoder and batch parser probe of
//      the next byte count's bytes.
struct Checker {
  bool known = false;  // the position below is known (false before the first delivery)
  uint64_t position = 0;
  uint64_t missed = 0;  // gaps reported since the last delivery
  bool read_asked = false;
  uint64_t read_from = 0;
  uint64_t read_to = 0;

  void deliver(uint64_t seq, std::string_view, bool) {
    if (known && seq != position + missed + 1) __builtin_trap();  // the first one sets it
    known = true;
    position = seq;
    missed = 0;
  }
  void gap(uint64_t count) {
    if (count == 0) __builtin_trap();
    missed += count;  // before the first delivery: relative to an anchor the checker never saw
  }
  void read(uint64_t from, uint64_t to) {
    if (from > to) __builtin_trap();
    read_asked = true;
    read_from = from;
    read_to = to;
  }
  void reset(uint64_t) {
    known = true;  // the new history starts before seq 1
    position = 0;
    missed = 0;
  }
};

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const { return at_ >= size_; }
  uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

}  // namespace
}  // namespace herald::broker::cluster

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::broker::cluster;
  Input in(data, size);
  TopicFeed feed;
  Checker checker;
  bool first = true;
  for (int steps = 0; steps < 512 && !in.empty(); ++steps) {
    const uint8_t op = in.next() % 5;
    if (op == 0) {
      IncomingMessage message{"t", 1 + in.next() % 64u, 1 + in.next() % 3u, "m"};
      feed.on_message(std::move(message), checker);
    } else if (op == 1) {
      const uint8_t status = in.next() % 3;
      const uint8_t epoch = in.next();
      const uint8_t mask = in.next();
      const uint8_t extra = in.next();
      if (!checker.read_asked) continue;  // nothing asked: no answer comes
      checker.read_asked = false;
      RangeResult range;
      range.status = status == 0   ? LinkStatus::kOk
                     : status == 1 ? LinkStatus::kUnavailable
                                   : LinkStatus::kError;
      range.epoch = epoch == 0 ? 0 : 1 + epoch % 3u;
      const bool anchor = checker.read_from == TopicFeed::kAnchorSeq;
      const uint64_t end =
          checker.read_to == TopicFeed::kOpen ? checker.read_from + 8 : checker.read_to;
      // Epoch 0 is a topic without state in Redis: no number, no entry.
      range.last_seq = range.epoch == 0 ? 0 : anchor ? extra % 64u : end + extra % 4u;
      for (uint64_t i = 0; range.epoch != 0 && !anchor && i < 8 && checker.read_from + i <= end;
           ++i) {
        if ((mask >> i) & 1) range.entries.push_back({checker.read_from + i, 0, "r"});
      }
      feed.on_range(std::move(range), checker);
    } else if (op == 2) {
      feed.on_reconnected(checker);
    } else if (op == 3) {
      if (first) feed.anchor(checker);
    } else {
      std::string bytes;
      for (uint8_t n = in.next() % 40; n > 0; --n) bytes.push_back(static_cast<char>(in.next()));
      ClusterMessage message;
      if (decode_cluster_message(bytes, message) && encode_cluster_message(message) != bytes) {
        __builtin_trap();  // what decodes encodes back to the same bytes
      }
      ChannelBatch batch;
      if (parse_channel_batch(bytes, batch)) {
        // A batch's messages tile the rest of the payload exactly, in order.
        const char* at = batch.messages.front().data();
        for (std::string_view m : batch.messages) {
          if (m.data() != at) __builtin_trap();
          at += m.size();
        }
        if (at != bytes.data() + bytes.size()) __builtin_trap();
      }
    }
    first = false;
  }
  return 0;
}
