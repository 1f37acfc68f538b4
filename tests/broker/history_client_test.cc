// The history client over a real storage writer (a memory log): the rules cache and the
// owner's listing, waiting and holding while the append queue is full, acks settled in ticket
// order, and reads answered to their target. The writer starts only when a test wants the
// queues drained, so "full" is exact.
#include "broker/net/history_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace herald::broker::net {
namespace {

using core::PublishRequest;

class HistoryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StorageConfig config;
    config.data_dir = ::testing::TempDir() + "/herald-history-client";
    auto rules = storage::HistoryRules::parse({"h.>=memory,count=100"});
    ASSERT_TRUE(rules.status.is_ok()) << rules.status.message();
    config.rules = std::move(rules.value);
    config.append_queue_capacity = 2;
    auto opened = storage::StorageWriter::open(std::move(config));
    ASSERT_TRUE(opened.status.is_ok()) << opened.status.message();
    writer_ = std::move(opened.value);
    client_ = std::make_unique<HistoryClient>(writer_->producer(0), writer_->rules(), topics_);
  }
  void TearDown() override {
    if (started_) writer_->stop();
  }
  void start_writer() {
    writer_->start();
    started_ = true;
  }
  // Submits and polls `done` for up to five seconds.
  template <typename Done>
  bool eventually(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      client_->submit();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  static PublishRequest* request(std::string_view topic, std::string_view id) {
    PublishRequest::Fields fields;
    fields.topic = topic;
    fields.id = id;
    fields.payload = {reinterpret_cast<const uint8_t*>("1"), 1};
    return PublishRequest::create(fields);
  }
  static PublishRequest::Fields fields_of(const PublishRequest& request) {
    PublishRequest::Fields fields;
    fields.topic = request.topic();
    fields.payload = request.payload();
    return fields;
  }

  core::HistoryTopics topics_;
  std::unique_ptr<storage::StorageWriter> writer_;
  std::unique_ptr<HistoryClient> client_;
  bool started_ = false;
};

TEST_F(HistoryClientTest, RulesAreCachedAndOnlyTheOwnerListsATopic) {
  std::vector<std::string> listed;
  EXPECT_TRUE(client_->has_history("h.a", false));
  client_->matching("h.*", listed);
  EXPECT_TRUE(listed.empty()) << "a subscriber's question lists nothing";
  EXPECT_TRUE(client_->has_history("h.a", true));
  client_->matching("h.*", listed);
  EXPECT_EQ(listed, std::vector<std::string>{"h.a"});
  EXPECT_FALSE(client_->has_history("x", true));
  listed.clear();
  client_->matching(">", listed);
  EXPECT_EQ(listed, std::vector<std::string>{"h.a"}) << "a topic without history is never listed";
  EXPECT_TRUE(client_->may_have_history("x.*")) << "a pattern may match another rule's topics";
  EXPECT_FALSE(client_->may_have_history("x"));
  EXPECT_TRUE(client_->may_have_history("h.b"));
}

TEST_F(HistoryClientTest, AFullQueueHoldsPublishesInOrderUntilThereIsRoom) {
  EXPECT_FALSE(client_->must_wait("h.a"));
  PublishRequest* first = request("h.a", "1");
  uint64_t ticket = client_->append(fields_of(*first), 1, 0);
  client_->ack_after(ticket, first);
  PublishRequest* second = request("h.a", "2");
  ticket = client_->append(fields_of(*second), 2, 0);
  client_->ack_after(ticket, second);
  EXPECT_TRUE(client_->must_wait("h.a")) << "the two-slot queue is full";
  EXPECT_TRUE(client_->must_wait("h.b"));
  EXPECT_FALSE(client_->must_wait("x")) << "a topic without history never waits";
  PublishRequest* held[3] = {request("h.a", "3"), request("h.b", "4"), request("h.a", "5")};
  for (PublishRequest* each : held) client_->hold(each);
  EXPECT_TRUE(client_->holding());
  EXPECT_EQ(client_->take_held(), nullptr) << "no room yet";

  start_writer();
  std::vector<PublishRequest*> released;
  ASSERT_TRUE(eventually([&] {
    while (PublishRequest* next = client_->take_held()) {
      released.push_back(next);
      client_->ack_after(client_->append(fields_of(*next), released.size() + 2, 0), next);
    }
    return released.size() == 3;
  }));
  EXPECT_EQ(released, std::vector<PublishRequest*>(std::begin(held), std::end(held)));
  EXPECT_FALSE(client_->holding());
  EXPECT_FALSE(client_->must_wait("h.a")) << "none held and room again";

  std::vector<std::string> acked;
  ASSERT_TRUE(eventually([&] {
    client_->settle([&](PublishRequest* done) {
      EXPECT_EQ(done->status, PublishRequest::Status::kPending) << "no write failed";
      acked.emplace_back(done->id());
      PublishRequest::destroy(done);
    });
    return acked.size() == 5;
  }));
  EXPECT_EQ(acked, (std::vector<std::string>{"1", "2", "3", "4", "5"})) << "in ticket order";
  EXPECT_EQ(client_->failed_appends(), 0u);
}

TEST_F(HistoryClientTest, AReadIsAnsweredToItsTarget) {
  start_writer();
  PublishRequest* message = request("h.r", "");
  (void)client_->append(fields_of(*message), 1, 0);
  PublishRequest::destroy(message);
  storage::ReadRequest read;
  read.topic = "h.r";
  read.value = 1;
  read.limits.count_max = 10;
  read.limits.bytes_max = 1024;
  const uint64_t token = client_->read(std::move(read), HistoryClient::ReadTarget{42, "h.r"});
  storage::ReadResult result;
  HistoryClient::ReadTarget target;
  ASSERT_TRUE(eventually([&] { return client_->take_result(result, target); }));
  EXPECT_EQ(result.token, token);
  EXPECT_EQ(target.connection, 42u);
  EXPECT_EQ(target.topic, "h.r");
  ASSERT_EQ(result.messages.size(), 1u) << "the append pushed before the read is in it";
  EXPECT_EQ(result.messages.front().seq, 1u);
}

}  // namespace
}  // namespace herald::broker::net
