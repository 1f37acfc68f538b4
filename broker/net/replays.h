// Subscriptions that replay a topic's log and then join the live stream (PROTOCOL.md section
// 9), pattern subscriptions over topics with history, and catch-ups of slow subscribers: the
// actions of each topic's core::ReplayCursor carried out on connections. Reads go through the
// HistoryClient; everything that reaches a connection goes through the Host (the worker).
// Thread: the owning worker's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/replay_cursor.h"
#include "broker/net/config.h"
#include "broker/net/connection.h"
#include "broker/net/counters.h"
#include "broker/net/history_client.h"
#include "protocol/pubsub/command.h"
#include "protocol/pubsub/notice.h"

namespace herald::broker::net {

class Replays {
 public:
  // What replays need of the worker.
  class Host {
   public:
    [[nodiscard]] virtual Connection* find_connection(uint64_t key) = 0;
    virtual void send_notice(Connection& connection, const protocol::pubsub::Notice& notice) = 0;
    // A live frame through the subscription's policy, as any delivery.
    virtual void deliver_to(Connection& connection, const SharedRef& frame, std::string_view topic,
                            protocol::pubsub::Policy policy) = 0;
    // Replayed frames, which bypass the policy: queued and flushed.
    virtual void enqueue(Connection& connection, SharedRef frames) = 0;
    virtual void command_failed(Connection& connection, std::string_view id,
                                protocol::pubsub::ErrorCode code, std::string_view text) = 0;
    // Bumps every worker's seam (Hub::bump_seam) once a subscription is registered.
    virtual void bump_seams() = 0;

   protected:
    ~Host() = default;
  };

  // All four must outlive the replays.
  Replays(const ServerConfig& config, WorkerCounters& counters, HistoryClient& history, Host& host)
      : config_(config), counters_(counters), history_(history), host_(host) {}

  // A subscribe on a topic with history, after its registration in the Router: sends the
  // first read. The recovery, the replayed messages and the ack follow when it is answered.
  void start(Connection& connection, const protocol::pubsub::Command& command,
             protocol::pubsub::Policy policy);
  // A pattern subscribe: every matching topic replays; the ack waits for their recoveries.
  void start_pattern(Connection& connection, const protocol::pubsub::Command& command,
                     protocol::pubsub::Policy policy);
  // The subscription on `topic`, or the pattern `filter`, ended or was replaced.
  void end(Connection& connection, std::string_view topic);
  void end_pattern(Connection& connection, std::string_view filter);

  // Offers a live frame to the topic's replay cursor: true when the cursor took it (held, let
  // go, or dropped as already replayed), false when it goes out live.
  [[nodiscard]] bool take_live(Connection& connection, const SharedRef& frame,
                               std::string_view topic);
  // A pattern subscriber's first frame of a topic not met before: introduced with a recovery
  // (true, the frame held until then), or false when it needs none.
  [[nodiscard]] bool introduce(Connection& connection, const SharedRef& frame,
                               std::string_view topic, protocol::pubsub::Policy policy);
  // The catchup policy (PROTOCOL.md section 6): instead of dropping `frame`, feed the topic
  // from the log from this frame on. False when the topic keeps no history.
  [[nodiscard]] bool start_catchup(Connection& connection, const SharedRef& frame,
                                   std::string_view topic);

  // Once per loop tick: the reads answered, then the replays whose send queue drained.
  void tick();

 private:
  using ReadTarget = HistoryClient::ReadTarget;

  void begin(Connection& connection, const std::string& topic, protocol::pubsub::Replay start,
             uint64_t value, std::string_view epoch, std::string_view ack_id,
             protocol::pubsub::Policy policy, std::string_view filter, uint64_t group);
  void request_read(Connection& connection, const std::string& topic, ReplayEntry& entry,
                    core::ReplayRead read);
  void on_read_result(storage::ReadResult& result, const ReadTarget& where);
  void send_recovery(Connection& connection, const std::string& topic, const ReplayEntry& entry,
                     const core::Recovery& recovery);
  // The cursor of `topic` went live: its held frames go out through the policy.
  void finish(Connection& connection, const std::string& topic);
  void enqueue_page(Connection& connection, std::string_view topic, uint64_t from,
                    const storage::MessagePage& page);
  void group_recovered(Connection& connection, uint64_t group, bool complete);
  void resume_draining();

  const ServerConfig& config_;
  WorkerCounters& counters_;
  HistoryClient& history_;
  Host& host_;
  std::vector<std::string> pattern_topics_;  // reused by every pattern subscribe
  uint64_t group_ids_ = 0;
  std::vector<ReadTarget> draining_;  // replays waiting for their send queue to drain
  storage::ReadResult read_result_;   // reused by every taken read
};

}  // namespace herald::broker::net
