// The worker's side of the AccessGate and the HttpRoutes: the I/O the gate needs (learning the
// peer with SO_PEERNAME: sockets accepted into the direct-descriptor table have no fd for
// getpeername), and carrying out what they decide: closes, flushes, error replies.
#include <cerrno>
#include <cstring>

#include "broker/net/log.h"
#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;

void Worker::on_request(Connection& connection, bool upgrade) {
  if (!admit(connection, gate_.admit_forwarded(connection.access, connection.session(), now_ms_))) {
    return;
  }
  Connection::Route route =
      routes_.on_request(connection.session(), connection.access, upgrade,
                         core::ReplyAddress{index_, key_of(connection)}, now_ms_);
  if (route == Connection::Route::kNone) return;
  connection.set_route(route);
  if (connection.session().deflate_negotiated()) ++counters_.deflate_negotiated;
  // Upgraded after the drain began (accepted before it): told at once, like the others.
  if (draining_ && route == Connection::Route::kPubSub) send_drain_notice(connection);
}

std::string Worker::metrics_text() const {
  return hub_.render_metrics() + hub_.render_io_metrics(io_->kind()) +
         (cluster_ != nullptr ? render_link_metrics(cluster_->links()) : std::string());
}

void Worker::submit_peer_name(Connection& connection) {
  if (peer_address_bytes_ == 0 || peer_name_failed_) return;
  connection.access.address = std::make_unique<ClientAddress>();
  io_->peer_name(connection.file_slot(), &connection.access.address->peer, peer_address_bytes_,
                 tag(OpKind::kPeerName, connection));
  ++connection.io.ops_in_flight;
}

void Worker::on_peer_name_complete(Connection& connection, const io::Completion& completion) {
  assert(connection.io.ops_in_flight > 0);
  --connection.io.ops_in_flight;
  if (connection.io.phase != Connection::Phase::kActive) return;
  if (completion.res < 0) {
    // -ENOTCONN: the client already left. Anything else: this kernel cannot do it (before
    // 6.7); per-address limits and trusted proxies are then off on this worker. The worker
    // prints nothing else: this is a start-up-class problem seen at the first connection.
    if (completion.res != -ENOTCONN && !peer_name_failed_) {
      peer_name_failed_ = true;
      log_line(LogLevel::kWarn,
               "SO_PEERNAME over io_uring failed (" + std::string(std::strerror(-completion.res)) +
                   "); per-IP limits and --trusted-proxies need Linux 6.7 or later");
    }
    return;
  }
  admit(connection, gate_.on_peer_address(connection.access, connection.session(), now_ms_));
}

bool Worker::admit(Connection& connection, const Admission& admission) {
  switch (admission.kind) {
    case Admission::Kind::kAdmitted:
      return true;
    case Admission::Kind::kAnswered:
      break;
    case Admission::Kind::kRespond:
      connection.queue().push_copy(admission.response);
      begin_flushing(connection);
      break;
    case Admission::Kind::kClose:
      close_connection(connection);
      break;
  }
  return false;
}

bool Worker::permit_command(Connection& connection, const pubsub::Command& command) {
  std::optional<Denial> denial = gate_.permit(connection.access, command, now_ms_);
  if (!denial) return true;
  command_failed(connection, command.id, denial->code, denial->text);
  return false;
}

void Worker::authenticate(Connection& connection, const pubsub::Command& command) {
  if (std::optional<Denial> denial = gate_.authenticate(connection.access, command)) {
    command_failed(connection, command.id, denial->code, denial->text);
    return;
  }
  connection.io.bad_commands = 0;
  if (!command.id.empty()) send_notice(connection, pubsub::Ack{command.id});
}

}  // namespace herald::broker::net
