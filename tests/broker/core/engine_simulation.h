// Drives the engine model from bytes, two a step (publish, subscribe with a replay, pattern
// subscribe, unsubscribe, stall, drain, catch-up, reconnect, crash, retention, arrivals) for
// three clients, checking all they read. Shared by engine_model_test.cc and engine_fuzz.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/broker/core/engine_model.h"
#include "tests/broker/core/model_client.h"

namespace herald::broker::core::model {

class Simulation {
 public:
  static constexpr size_t kClients = 3;

  // With `trace`, every operation and every item a client reads is printed (to replay a seed).
  explicit Simulation(bool trace = false) : trace_(trace), engine_(lost_, trace) {
    for (Slot& slot : slots_) connect(slot);
  }

  // One operation from two bytes. Returns the first error seen, or an empty string.
  std::string step(uint8_t op, uint8_t arg) {
    Slot& slot = slots_[arg % kClients];
    const uint8_t more = static_cast<uint8_t>(arg / kClients);
    if (trace_) std::printf("op %d: client %zu, %d\n", op % 24, arg % kClients, int{more});
    switch (op % 24) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        engine_.publish(kTopics[more % kTopics.size()]);
        break;
      case 6:
      case 7:
        for (int i = 0; i <= more % 4; ++i) engine_.take_channel_frame();
        break;
      case 8:
        engine_.answer_read();
        break;
      case 9:
        engine_.take_read_result();
        break;
      case 10:
      case 11:
      case 12:
      case 13:
        if (!slot.stalled) return drain(slot, more % 8 + 1);
        break;
      case 14:
        engine_.resume_draining();
        break;
      case 15:
      case 16:
        subscribe(slot, more);
        break;
      case 17:
        if (slot.connected && !slot.filters.empty()) unsubscribe(slot, more % slot.filters.size());
        break;
      case 18:
        slot.stalled = !slot.stalled;
        break;
      case 19:
        if (slot.connected) disconnect(slot);
        break;
      case 20:
        if (!slot.connected) reconnect(slot);
        break;
      case 21:
        engine_.crash(more % 3 + 1);
        break;
      case 22:
        engine_.trim(kTopics[more % 2]);
        break;
      case 23:
        engine_.answer_read();
        engine_.take_read_result();
        break;
    }
    return {};
  }

  // Lets everything in flight arrive and every queue drain, then checks that every client has
  // read or been told of every message of its topics.
  std::string settle() {
    for (Slot& slot : slots_) slot.stalled = false;
    // The disk is back and one more message of each topic with history is stored: a replay
    // must read past frames it let go, and it cannot while they are only in lost appends.
    engine_.crash(0);
    for (const std::string& topic : kTopics) {
      if (has_history(topic)) engine_.publish(topic);
    }
    for (int round = 0; round < 100000; ++round) {
      bool moved = engine_.take_channel_frame();
      moved = engine_.answer_read() || moved;
      moved = engine_.take_read_result() || moved;
      engine_.resume_draining();
      for (Slot& slot : slots_) {
        if (!slot.connected) continue;
        const size_t before = slot.read;
        if (std::string error = drain(slot, 64); !error.empty()) return error;
        moved = moved || slot.read != before;
      }
      if (!moved && engine_.quiet()) return check_settled();
    }
    return "the engine did not settle" + engine_.describe();
  }

 private:
  struct Slot {
    uint64_t id = 0;
    bool connected = false;
    bool stalled = false;
    std::unique_ptr<Client> client;
    std::vector<std::string> filters;
    std::map<std::string, Policy> policies;
    Policy policy = Policy::kDrop;
    std::map<std::string, std::pair<uint64_t, std::string>> positions;  // kept over reconnects
    size_t read = 0;
  };

  void connect(Slot& slot) {
    slot.id = engine_.connect();
    slot.connected = true;
    slot.client = std::make_unique<Client>(lost_, kTopics);
  }

  void subscribe(Slot& slot, uint8_t more) {
    if (!slot.connected) return;
    const std::string& filter = kFilters[more % kFilters.size()];
    // One policy per connection: with two on overlapping filters, a held frame released under
    // one policy may be dropped for a gap that the other's catch-up then never tells.
    static constexpr Policy kPolicies[] = {Policy::kDrop, Policy::kCatchup, Policy::kDisconnect};
    if (slot.filters.empty()) slot.policy = kPolicies[(more / 5) % 3];
    const Policy policy = slot.policy;
    Replay start = Replay::kNone;
    uint64_t value = 0;
    std::string epoch;
    switch ((more / 15) % 4) {
      case 1: {  // resume where it left off, else somewhere in what was published
        start = Replay::kFrom;
        auto [next, known_epoch] = slot.client->position(filter);
        const uint64_t last = engine_.last_seq(filter);
        value = next != 0 ? next : (last == 0 ? 1 : 1 + (more * 7u) % (last + 1));
        epoch = known_epoch;
        break;
      }
      case 2:
        start = Replay::kLast;
        value = 2;
        break;
      case 3:
        start = Replay::kSnapshot;
        break;
      default:
        break;
    }
    if (std::find(slot.filters.begin(), slot.filters.end(), filter) == slot.filters.end()) {
      slot.filters.push_back(filter);
    }
    slot.policies[filter] = policy;
    engine_.subscribe(slot.id, filter, policy, start, value, epoch);
  }

  // Not while another of its filters matches a topic with history that this one does: the
  // unsubscribe ends that topic's replay, and the frames it held are lost to the other filter
  // (a known limit of the worker's end_replay and end_pattern_replays, left as it is).
  void unsubscribe(Slot& slot, size_t index) {
    const std::string filter = slot.filters[index];
    // Nor a pattern while a replay runs: a topic the pattern met after its subscribe replays
    // under no filter, so the unsubscribe does not end it (worker_history_patterns.cc).
    if (protocol::pubsub::is_pattern(filter) && engine_.replaying(slot.id)) return;
    for (const std::string& other : slot.filters) {
      if (other == filter) continue;
      for (const std::string& topic : kTopics) {
        if (has_history(topic) && protocol::pubsub::filter_matches(filter, topic) &&
            protocol::pubsub::filter_matches(other, topic)) {
          return;
        }
      }
    }
    slot.filters.erase(slot.filters.begin() + static_cast<std::ptrdiff_t>(index));
    engine_.unsubscribe(slot.id, filter);
  }

  void disconnect(Slot& slot) {
    for (const std::string& topic : kTopics) {
      if (auto position = slot.client->position(topic); position.first != 0) {
        slot.positions[topic] = position;
      }
    }
    engine_.disconnect(slot.id);
    slot.connected = false;
    slot.stalled = false;
  }

  // A new connection that subscribes to what the old one had, exact topics with history from
  // where the client left off (PROTOCOL.md section 9).
  void reconnect(Slot& slot) {
    connect(slot);
    for (const std::string& filter : slot.filters) {
      auto position = slot.positions.find(filter);
      if (has_history(filter) && position != slot.positions.end()) {
        engine_.subscribe(slot.id, filter, slot.policies[filter], Replay::kFrom,
                          position->second.first, position->second.second);
      } else {
        engine_.subscribe(slot.id, filter, slot.policies[filter], Replay::kNone, 0, {});
      }
    }
  }

  std::string drain(Slot& slot, size_t count) {
    if (!slot.connected) return {};
    for (const Item& item : engine_.drain(slot.id, count)) {
      ++slot.read;
      if (trace_) print(slot, item);
      if (std::string error = slot.client->read(item); !error.empty()) {
        return "client " + std::to_string(&slot - slots_.data()) + ": " + error;
      }
      if (slot.client->closed()) {  // closed 1008 as a slow consumer: it comes back later
        disconnect(slot);
        return {};
      }
    }
    return {};
  }

  std::string check_settled() {
    for (Slot& slot : slots_) {
      if (!slot.connected) continue;
      for (const std::string& topic : kTopics) {
        std::string error = slot.client->settled(topic, engine_.last_seq(topic),
                                                 engine_.pending_gap(slot.id, topic));
        if (!error.empty()) return "client " + std::to_string(&slot - slots_.data()) + ": " + error;
      }
    }
    return {};
  }

  void print(const Slot& slot, const Item& item) const {
    static constexpr const char* kKinds[] = {"message",    "gap",          "recovery",
                                             "subscribed", "unsubscribed", "close"};
    std::printf("  client %zu reads %s %s seq %llu missed %llu", &slot - slots_.data(),
                kKinds[item.kind], item.topic.c_str(), static_cast<unsigned long long>(item.seq),
                static_cast<unsigned long long>(item.missed));
    if (item.kind == Item::kRecovery) {
      std::printf(" from %llu next %llu first %llu complete %d wanted %llu",
                  static_cast<unsigned long long>(item.recovery.from),
                  static_cast<unsigned long long>(item.recovery.next),
                  static_cast<unsigned long long>(item.recovery.first_seq), item.recovery.complete,
                  static_cast<unsigned long long>(item.wanted));
    }
    std::printf("\n");
  }

  const bool trace_;
  Client::Lost lost_;
  Engine engine_;
  std::array<Slot, kClients> slots_;
};

}  // namespace herald::broker::core::model
