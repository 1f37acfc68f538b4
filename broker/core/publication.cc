// PublishRequest blocks and the FrameOrigin layout: fixed fields, then the variable bytes.
#include "broker/core/publication.h"

#include <cassert>
#include <cstring>
#include <new>

namespace herald::broker::core {

namespace {

struct OriginHeader {
  uint64_t connection;
  uint64_t seq;
  uint32_t worker;
  uint8_t echo;
  uint8_t topic_bytes;
};

}  // namespace

PublishRequest* PublishRequest::create(const Fields& fields) {
  assert(fields.topic.size() <= 255 && fields.id.size() <= 255);
  size_t variable = fields.topic.size() + fields.id.size() + fields.payload.size();
  void* block = ::operator new(sizeof(PublishRequest) + variable);
  auto* request = new (block) PublishRequest();
  request->reply_ = fields.reply;
  request->payload_bytes_ = static_cast<uint32_t>(fields.payload.size());
  request->topic_bytes_ = static_cast<uint8_t>(fields.topic.size());
  request->id_bytes_ = static_cast<uint8_t>(fields.id.size());
  request->binary_ = fields.binary;
  request->echo_ = fields.echo;
  request->origin_ = fields.origin;
  char* out = reinterpret_cast<char*>(request + 1);
  std::memcpy(out, fields.topic.data(), fields.topic.size());
  out += fields.topic.size();
  if (!fields.id.empty()) std::memcpy(out, fields.id.data(), fields.id.size());
  out += fields.id.size();
  if (!fields.payload.empty()) std::memcpy(out, fields.payload.data(), fields.payload.size());
  return request;
}

void PublishRequest::destroy(PublishRequest* request) {
  request->~PublishRequest();
  ::operator delete(static_cast<void*>(request));
}

std::string_view PublishRequest::topic() const { return {bytes(), topic_bytes_}; }

std::string_view PublishRequest::id() const { return {bytes() + topic_bytes_, id_bytes_}; }

std::span<const uint8_t> PublishRequest::payload() const {
  return {reinterpret_cast<const uint8_t*>(bytes()) + topic_bytes_ + id_bytes_, payload_bytes_};
}

size_t frame_origin_bytes(std::string_view topic) {
  size_t bytes = sizeof(OriginHeader) + topic.size();
  return (bytes + 7) & ~size_t{7};
}

void frame_origin_write(std::span<uint8_t> out, const FrameOrigin& origin) {
  assert(out.size() >= frame_origin_bytes(origin.topic) && origin.topic.size() <= 255);
  OriginHeader header{origin.publisher.connection, origin.seq, origin.publisher.worker,
                      static_cast<uint8_t>(origin.echo ? 1 : 0),
                      static_cast<uint8_t>(origin.topic.size())};
  std::memcpy(out.data(), &header, sizeof(header));
  std::memcpy(out.data() + sizeof(header), origin.topic.data(), origin.topic.size());
}

FrameOrigin frame_origin_read(std::span<const uint8_t> bytes) {
  OriginHeader header{};
  assert(bytes.size() >= sizeof(header));
  std::memcpy(&header, bytes.data(), sizeof(header));
  assert(bytes.size() >= sizeof(header) + header.topic_bytes);
  FrameOrigin origin;
  origin.publisher = ReplyAddress{header.worker, header.connection};
  origin.seq = header.seq;
  origin.echo = header.echo != 0;
  origin.topic = {reinterpret_cast<const char*>(bytes.data()) + sizeof(header), header.topic_bytes};
  return origin;
}

}  // namespace herald::broker::core
