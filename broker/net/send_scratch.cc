#include "broker/net/send_scratch.h"

#include <cassert>
#include <cstring>

namespace herald::broker::net {

const msghdr* SendScratch::keep(const msghdr& message) {
  assert(message.msg_iovlen <= kIovecs);
  if (iovecs_used_ + message.msg_iovlen > kIovecs || headers_used_ == kHeaders) return nullptr;
  if (!iovecs_) {
    iovecs_ = std::make_unique_for_overwrite<iovec[]>(kIovecs);
    headers_ = std::make_unique_for_overwrite<msghdr[]>(kHeaders);
  }
  iovec* iovecs = &iovecs_[iovecs_used_];
  std::memcpy(iovecs, message.msg_iov, message.msg_iovlen * sizeof(iovec));
  iovecs_used_ += message.msg_iovlen;
  msghdr& header = headers_[headers_used_++];
  header = message;
  header.msg_iov = iovecs;
  return &header;
}

}  // namespace herald::broker::net
