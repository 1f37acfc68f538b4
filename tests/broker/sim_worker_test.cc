// The real worker over the simulated backend, on this thread, with no sockets: seeded runs of
// subscribers (exact and pattern, some reading slowly) and publishers, with handshakes and
// commands arriving in random pieces, short sends and delayed completions. The invariant:
// every publish is acknowledged once with the next seq of its topic, and every subscriber
// gets each topic's messages exactly once and in order, or a gap notice that says exactly how
// many it missed. HERALD_SIM_SEED=N replays one seed.
#include <gtest/gtest.h>
#include <sys/eventfd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/io/sim_backend.h"
#include "broker/net/worker.h"
#include "protocol/websocket/handshake.h"
#include "tests/broker/raw_socket.h"

namespace herald::broker::net {
namespace {

namespace ws = protocol::websocket;

constexpr const char* kTopics[] = {"t.a", "t.b", "t.c"};

// The value of "field": in one server message: a number, or a string's contents.
std::string field(const std::string& json, const std::string& name) {
  std::string key = "\"" + name + "\":";
  size_t at = json.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  if (json[at] == '"') return json.substr(at + 1, json.find('"', at + 1) - at - 1);
  size_t end = json.find_first_of(",}", at);
  return json.substr(at, end - at);
}

// One simulated client: its bytes from the broker parsed into text messages.
struct Peer {
  uint32_t id = 0;
  std::string bytes;
  bool upgraded = false;
  bool closed = false;  // a Close frame arrived
  std::vector<std::string> messages;

  void parse(std::string incoming) {
    bytes += incoming;
    if (!upgraded) {
      size_t end = bytes.find("\r\n\r\n");
      if (end == std::string::npos) return;
      ASSERT_EQ(bytes.rfind("HTTP/1.1 101", 0), 0u) << bytes;
      bytes.erase(0, end + 4);
      upgraded = true;
    }
    for (;;) {  // server frames: unmasked, final (the broker never fragments)
      if (bytes.size() < 2) return;
      auto length = static_cast<uint64_t>(static_cast<uint8_t>(bytes[1]) & 0x7f);
      size_t header = 2;
      if (length >= 126) {
        size_t extra = length == 126 ? 2 : 8;
        if (bytes.size() < 2 + extra) return;
        length = 0;
        for (size_t i = 0; i < extra; ++i)
          length = length << 8 | static_cast<uint8_t>(bytes[2 + i]);
        header += extra;
      }
      if (bytes.size() < header + length) return;
      int opcode = static_cast<uint8_t>(bytes[0]) & 0x0f;
      if (opcode == 1) messages.push_back(bytes.substr(header, length));
      if (opcode == 8) closed = true;
      bytes.erase(0, header + length);
    }
  }
};

class Simulation {
 public:
  Simulation(uint64_t seed, const ServerConfig& config) : config_(config), random_(seed) {
    session_config_.message_bytes_max = config_.max_message_bytes;
    session_config_.subprotocols = {"herald.v1"};
    io::SimFaults faults;
    faults.receive_piece_max = static_cast<uint32_t>(pick(0, 3) == 0 ? 0 : pick(1, 64));
    faults.send_piece_max = static_cast<uint32_t>(pick(0, 3) == 0 ? 0 : pick(1, 700));
    faults.delay_percent = static_cast<uint32_t>(pick(0, 50));
    auto backend = std::make_unique<io::SimBackend>(seed, faults);
    sim_ = backend.get();
    hub_ = std::make_unique<Hub>(1, config_.max_topics);
    worker_ = std::make_unique<Worker>(
        config_, session_config_, Listener::adopt(eventfd(0, EFD_CLOEXEC), 0),
        WorkerLimits{64, 48, io::BackendKind::kSimulated}, open_connections_, *hub_, 0);
    const common::Status setup = worker_->setup(std::move(backend));
    EXPECT_TRUE(setup.is_ok()) << setup.message();
  }
  ~Simulation() {
    worker_->request_stop();
    for (const Peer& peer : peers_) sim_->client(peer.id).eof_sent = true;
    for (int i = 0; i < 100000 && worker_->run_once(); ++i) {
      if (i % 100 == 99) sim_->fire_timers();  // the shutdown deadline is swept
      for (Peer& peer : peers_) take(peer);
    }
  }

  uint64_t pick(uint64_t low, uint64_t high) {
    random_ = random_ * 6364136223846793005u + 1442695040888963407u;
    return low + (random_ >> 33) % (high - low + 1);
  }

  Peer& open_peer() {
    Peer peer;
    peer.id = sim_->connect();
    sim_->client(peer.id).to_server =
        ws::build_upgrade_request("localhost", "/", ws::make_sec_websocket_key(), "herald.v1");
    peers_.push_back(peer);
    return peers_.back();
  }
  void command(const Peer& peer, const std::string& json) {
    sim_->client(peer.id).to_server += raw_socket::masked_frame(ws::Opcode::kText, json);
  }
  void take(Peer& peer) { peer.parse(sim_->take(peer.id)); }
  void tick() { worker_->run_once(); }
  // Ticks until nothing is in flight; reads every peer when `read_all`.
  void settle(bool read_all) {
    for (int i = 0; i < 20000; ++i) {
      tick();
      if (read_all) {
        for (Peer& peer : peers_) take(peer);
      }
      if (!sim_->busy()) return;
    }
    ADD_FAILURE() << "the simulation did not settle";
  }
  io::SimBackend& sim() { return *sim_; }
  std::vector<Peer>& peers() { return peers_; }

 private:
  ServerConfig config_;
  ws::SessionConfig session_config_;
  std::atomic<uint64_t> open_connections_{0};
  uint64_t random_;
  io::SimBackend* sim_ = nullptr;
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<Worker> worker_;
  std::vector<Peer> peers_;
};

// What one subscriber saw of one topic, checked as it arrives.
struct TopicView {
  uint64_t next = 1;  // the seq the next message must carry, before any gap
  uint64_t missed = 0;
};

void run_seed(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay: HERALD_SIM_SEED=" + std::to_string(seed) + ")");
  ServerConfig config;
  config.max_queued_bytes = 1024;  // small, so slow readers meet the drop policy
  config.close_timeout_ms = 1;     // the shutdown at the end does not wait for real time
  config.shutdown_timeout_ms = 1;
  Simulation sim(seed ^ 0x5eed, config);
  size_t subscriber_count = sim.pick(2, 5);
  size_t publisher_count = sim.pick(1, 2);
  // Subscribers first: peers_[0, subscriber_count) subscribe, the rest publish.
  std::vector<std::set<std::string>> wanted(subscriber_count);
  for (size_t i = 0; i < subscriber_count + publisher_count; ++i) sim.open_peer();
  for (size_t i = 0; i < subscriber_count; ++i) {
    Peer& peer = sim.peers()[i];
    if (sim.pick(0, 2) == 0) {
      sim.command(peer, R"({"op":"sub","topic":"t.*","id":"s*"})");
      wanted[i].insert(std::begin(kTopics), std::end(kTopics));
    }
    for (const char* topic : kTopics) {
      if (sim.pick(0, 1) == 0) continue;
      sim.command(peer, std::string(R"({"op":"sub","topic":")") + topic + R"(","id":"s"})");
      wanted[i].insert(topic);
    }
    // Some readers stall: only so many unread bytes before the broker's sends wait.
    if (sim.pick(0, 2) == 0) sim.sim().client(peer.id).window = sim.pick(64, 4096);
  }
  sim.settle(true);
  for (size_t i = 0; i < subscriber_count; ++i) sim.peers()[i].messages.clear();  // the acks

  std::map<std::string, std::vector<std::string>> published;  // topic -> data by seq - 1
  std::map<std::string, std::string> sent;                    // publish id -> data
  std::map<std::string, std::string> topic_of;                // publish id -> topic
  size_t message_count = sim.pick(20, 300);
  // One subscriber in three runs vanishes (a reset) at some point; the others must not notice.
  std::optional<size_t> vanished;
  size_t vanish_at = sim.pick(0, message_count * 3);
  for (size_t k = 0; k < message_count; ++k) {
    if (k == vanish_at) {
      vanished = sim.pick(0, subscriber_count - 1);
      sim.sim().client(sim.peers()[*vanished].id).reset = true;
    }
    Peer& publisher = sim.peers()[subscriber_count + sim.pick(0, publisher_count - 1)];
    std::string topic = kTopics[sim.pick(0, 2)];
    std::string id = "p" + std::to_string(k);
    std::string data = "m" + std::to_string(k);
    sim.command(publisher, R"({"op":"pub","topic":")" + topic + R"(","data":")" + data +
                               R"(","id":")" + id + R"("})");
    sent[id] = data;
    topic_of[id] = topic;
    for (uint64_t t = sim.pick(0, 3); t > 0; --t) sim.tick();
    for (size_t i = 0; i < subscriber_count; ++i) {
      if (sim.pick(0, 3) == 0) sim.take(sim.peers()[i]);  // stall, then drain
    }
  }
  // Every reader catches up, then one last message per topic makes any pending gap notice go
  // out (a gap is announced before the next message).
  for (size_t i = 0; i < subscriber_count; ++i) sim.sim().client(sim.peers()[i].id).window = 0;
  sim.settle(true);
  Peer& closer = sim.peers()[subscriber_count];
  for (const char* topic : kTopics) {
    std::string id = std::string("last.") + topic;
    sim.command(closer, R"({"op":"pub","topic":")" + std::string(topic) +
                            R"(","data":"end","id":")" + id + R"("})");
    sent[id] = "end";
    topic_of[id] = topic;
  }
  sim.settle(true);

  // Acks: one per publish, with consecutive seqs per topic.
  for (size_t p = subscriber_count; p < sim.peers().size(); ++p) {
    for (const std::string& message : sim.peers()[p].messages) {
      ASSERT_EQ(field(message, "type"), "ack") << message;
      std::string id = field(message, "id");
      ASSERT_TRUE(sent.count(id)) << "an ack for nothing published: " << message;
      std::vector<std::string>& log = published[topic_of[id]];
      uint64_t seq = std::stoull(field(message, "seq"));
      if (log.size() < seq) log.resize(seq);
      ASSERT_EQ(log[seq - 1], "") << "seq " << seq << " acknowledged twice";
      log[seq - 1] = sent[id];
      sent.erase(id);
    }
  }
  ASSERT_TRUE(sent.empty()) << sent.size() << " publishes never acknowledged";

  for (size_t i = 0; i < subscriber_count; ++i) {
    const Peer& peer = sim.peers()[i];
    SCOPED_TRACE("subscriber " + std::to_string(i));
    if (peer.closed || vanished == i) continue;  // told why (a close), or gone
    std::map<std::string, TopicView> views;
    for (const std::string& message : peer.messages) {
      std::string type = field(message, "type");
      std::string topic = field(message, "topic");
      ASSERT_TRUE(wanted[i].count(topic)) << "not subscribed: " << message;
      TopicView& view = views[topic];
      if (type == "gap") {
        view.missed += std::stoull(field(message, "missed"));
        continue;
      }
      ASSERT_EQ(type, "msg") << message;
      uint64_t seq = std::stoull(field(message, "seq"));
      ASSERT_EQ(seq, view.next + view.missed) << "out of order, doubled or an unannounced gap";
      ASSERT_LE(seq, published[topic].size());
      ASSERT_EQ(field(message, "data"), published[topic][seq - 1]) << "seq " << seq;
      view.next = seq + 1;
      view.missed = 0;
    }
    for (const std::string& topic : wanted[i]) {
      EXPECT_EQ(views[topic].next, published[topic].size() + 1)
          << topic << ": the last message never arrived";
    }
  }
}

TEST(SimulatedWorkerTest, EverySubscriberGetsEveryMessageOnceInOrderOrAGap) {
  if (const char* replay = std::getenv("HERALD_SIM_SEED")) {
    run_seed(std::strtoull(replay, nullptr, 10));
    return;
  }
  for (uint64_t seed = 1; seed <= 200 && !HasFailure(); ++seed) run_seed(seed);
}

}  // namespace
}  // namespace herald::broker::net
