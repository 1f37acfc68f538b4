// PubSubClient: commands encoded and replies parsed by protocol/pubsub's client codec; ids are
// small integers, so an ack is matched by its raw JSON id. Every wait has a caller's deadline.
#include "clients/cpp/lib/pubsub_client.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace herald::client {

namespace pubsub = protocol::pubsub;
namespace ws = protocol::websocket;

namespace {

std::chrono::milliseconds until(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()));
}

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Our ids are decimal integers; anything else (a string id, say) is not ours.
bool parse_id(std::string_view raw, uint32_t& id) {
  const auto [end, status] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
  return status == std::errc() && end == raw.data() + raw.size();
}

}  // namespace

const char* pubsub_error_name(PubSubError error) {
  switch (error) {
    case PubSubError::kNone:
      return "none";
    case PubSubError::kTransport:
      return "transport";
    case PubSubError::kTimeout:
      return "timeout";
    case PubSubError::kRejected:
      return "rejected";
    case PubSubError::kBadReply:
      return "bad_reply";
    case PubSubError::kClosed:
      return "closed";
    case PubSubError::kNotOpen:
      return "not_open";
  }
  return "unknown";
}

PubSubError PubSubClient::connect(std::string_view host, uint16_t port, std::string_view path,
                                  Timeout timeout) {
  outstanding_.clear();
  backlog_.clear();
  close_code_ = ws::CloseCode::kNoStatus;
  const std::string offered[] = {std::string(kSubprotocol)};
  if (Error error = connection_.connect(host, port, path, offered, timeout);
      error != Error::kNone) {
    return fail_transport(error);
  }
  // RFC 6455 §4.1: a server may confirm none of the offered subprotocols; Herald always
  // confirms "herald.v1" (PROTOCOL.md section 1), so anything else is not a Herald broker.
  if (connection_.subprotocol() != kSubprotocol) {
    connection_.close();
    return PubSubError::kBadReply;
  }
  transport_error_ = Error::kNone;
  return PubSubError::kNone;
}

PubSubError PubSubClient::subscribe(std::string_view filter, pubsub::Policy policy,
                                    Timeout timeout) {
  const uint32_t id = next_id();
  return request(pubsub::encode_subscribe(filter, std::to_string(id), policy), id, timeout);
}

PubSubError PubSubClient::unsubscribe(std::string_view filter, Timeout timeout) {
  const uint32_t id = next_id();
  return request(pubsub::encode_unsubscribe(filter, std::to_string(id)), id, timeout);
}

PubSubError PubSubClient::request(std::string_view command_json, uint32_t id, Timeout timeout) {
  if (!connection_.is_open()) return PubSubError::kNotOpen;
  outstanding_[id] = Answer{};
  if (Error error = connection_.send_text(command_json); error != Error::kNone) {
    outstanding_.erase(id);
    return fail_transport(error);
  }
  return wait_ack(id, timeout).error;
}

PublishResult PubSubClient::publish(std::string_view topic, std::string_view data_json, bool ack,
                                    Timeout timeout) {
  if (ack) {
    const PublishTicket ticket = send_publish(topic, data_json);
    if (ticket.error != PubSubError::kNone) return {ticket.error, 0};
    return wait_ack(ticket.id, timeout);
  }
  if (!connection_.is_open()) return {PubSubError::kNotOpen, 0};
  const Error error = connection_.send_text(pubsub::encode_publish(topic, data_json));
  return {error == Error::kNone ? PubSubError::kNone : fail_transport(error), 0};
}

PublishResult PubSubClient::publish_binary(std::string_view topic, std::span<const uint8_t> payload,
                                           bool ack, Timeout timeout) {
  if (ack) {
    const PublishTicket ticket = send_publish_binary(topic, payload);
    if (ticket.error != PubSubError::kNone) return {ticket.error, 0};
    return wait_ack(ticket.id, timeout);
  }
  if (!connection_.is_open()) return {PubSubError::kNotOpen, 0};
  const Error error = connection_.send_binary(pubsub::encode_binary_publish(topic, payload));
  return {error == Error::kNone ? PubSubError::kNone : fail_transport(error), 0};
}

PublishTicket PubSubClient::send_publish(std::string_view topic, std::string_view data_json) {
  if (!connection_.is_open()) return {PubSubError::kNotOpen, 0};
  const uint32_t id = next_id();
  outstanding_[id] = Answer{};
  const Error error =
      connection_.send_text(pubsub::encode_publish(topic, data_json, std::to_string(id)));
  if (error != Error::kNone) {
    outstanding_.erase(id);
    return {fail_transport(error), 0};
  }
  return {PubSubError::kNone, id};
}

PublishTicket PubSubClient::send_publish_binary(std::string_view topic,
                                                std::span<const uint8_t> payload) {
  if (!connection_.is_open()) return {PubSubError::kNotOpen, 0};
  const uint32_t id = next_id();
  outstanding_[id] = Answer{};
  const Error error =
      connection_.send_binary(pubsub::encode_binary_publish(topic, payload, true, id));
  if (error != Error::kNone) {
    outstanding_.erase(id);
    return {fail_transport(error), 0};
  }
  return {PubSubError::kNone, id};
}

PublishResult PubSubClient::wait_ack(uint32_t id, Timeout timeout) {
  const auto found = outstanding_.find(id);
  if (found == outstanding_.end()) return {PubSubError::kNotOpen, 0};
  const auto deadline = Clock::now() + timeout;
  while (!found->second.answered) {
    Frame frame;
    if (PubSubError error = read_frame(deadline, frame); error != PubSubError::kNone) {
      return {error, 0};
    }
    PubSubError filed = PubSubError::kNone;
    if (!file_answer(frame, filed)) {
      backlog_.push_back(std::move(frame));
    } else if (filed != PubSubError::kNone) {
      return {filed, 0};
    }
  }
  const Answer answer = std::move(found->second);
  outstanding_.erase(found);
  if (answer.rejected) {
    server_error_code_ = answer.code;
    server_error_text_ = answer.text;
    return {PubSubError::kRejected, 0};
  }
  return {PubSubError::kNone, answer.seq};
}

Incoming PubSubClient::receive(Timeout timeout) {
  Incoming incoming;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (!backlog_.empty()) {
      current_ = std::move(backlog_.front());
      backlog_.pop_front();
    } else if (PubSubError error = read_frame(deadline, current_); error != PubSubError::kNone) {
      incoming.error = error;
      return incoming;
    } else if (PubSubError filed = PubSubError::kNone; file_answer(current_, filed)) {
      if (filed == PubSubError::kNone) continue;  // an ack someone will wait_ack() for
      incoming.error = filed;
      return incoming;
    }
    const auto bytes = as_bytes(current_.bytes);
    const bool parsed = current_.binary ? parser_.parse_binary(bytes, incoming.message)
                                        : parser_.parse_text(bytes, incoming.message);
    if (!parsed) {
      connection_.close();
      incoming.error = PubSubError::kBadReply;
    }
    return incoming;
  }
}

PubSubError PubSubClient::read_frame(Clock::time_point deadline, Frame& frame) {
  if (!connection_.is_open()) return PubSubError::kNotOpen;
  while (true) {
    Message message = connection_.receive(until(deadline));
    switch (message.kind) {
      case Message::Kind::kText:
      case Message::Kind::kBinary:
        frame.bytes = std::move(message.payload);
        frame.binary = message.kind == Message::Kind::kBinary;
        return PubSubError::kNone;
      case Message::Kind::kPing:
      case Message::Kind::kPong:
        if (message.error != Error::kNone) return fail_transport(message.error);
        continue;
      case Message::Kind::kClose:
        close_code_ = message.code;
        connection_.close();
        return PubSubError::kClosed;
      case Message::Kind::kError:
        if (message.error == Error::kTimeout) return PubSubError::kTimeout;
        return fail_transport(message.error);
    }
  }
}

bool PubSubClient::file_answer(const Frame& frame, PubSubError& error) {
  if (frame.binary) return false;
  pubsub::ServerMessage message;
  if (!parser_.parse_text(as_bytes(frame.bytes), message)) {
    connection_.close();
    error = PubSubError::kBadReply;
    return true;
  }
  using Kind = pubsub::ServerMessage::Kind;
  if (message.kind != Kind::kAck && message.kind != Kind::kError) return false;
  auto found = outstanding_.end();
  if (uint32_t id = 0; parse_id(message.id, id)) {
    found = outstanding_.find(id);
  } else if (message.kind == Kind::kError && message.id.empty()) {
    // The server could not read the command's id (bad_json...). It answers each
    // connection's commands in order, so this answers the oldest request still waiting.
    found = std::find_if(outstanding_.begin(), outstanding_.end(),
                         [](const auto& entry) { return !entry.second.answered; });
  }
  if (found == outstanding_.end() || found->second.answered) return false;
  Answer& answer = found->second;
  answer.answered = true;
  answer.rejected = message.kind == Kind::kError;
  answer.seq = message.seq;
  answer.code = std::string(message.code);
  answer.text = std::string(message.text);
  return true;
}

PubSubError PubSubClient::fail_transport(Error error) {
  transport_error_ = error;
  if (error == Error::kClosed) {
    connection_.close();
    return PubSubError::kClosed;
  }
  if (error == Error::kTimeout) return PubSubError::kTimeout;
  if (error != Error::kNone && error != Error::kNotOpen) connection_.close();
  return error == Error::kNotOpen ? PubSubError::kNotOpen : PubSubError::kTransport;
}

void PubSubClient::close(Timeout timeout) {
  if (!connection_.is_open()) return;
  const auto deadline = Clock::now() + timeout;
  if (connection_.send_close(ws::CloseCode::kNormal, {}) == Error::kNone) {
    // §7.1.1: drain until the server's Close (or TCP close), so it need not reset us.
    while (connection_.is_open()) {
      const Message message = connection_.receive(until(deadline));
      if (message.kind == Message::Kind::kClose || message.kind == Message::Kind::kError) break;
    }
  }
  connection_.close();
}

}  // namespace herald::client
