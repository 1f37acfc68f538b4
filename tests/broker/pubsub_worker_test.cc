// Two workers (tests/broker/two_workers.h), a client on each: commands, cross-worker sequencing and
// acks, HTTP publish, routes, the bad-command limit and the drop and disconnect policies at a tiny
// queue bound.
#include <unistd.h>

#include <string>

#include "tests/broker/two_workers.h"

namespace herald::broker::net {
namespace {

namespace ws = protocol::websocket;
using namespace raw_socket;  // NOLINT(google-build-using-namespace): test helpers
using testing::Frame;

class PubSubWorkerTest : public testing::TwoWorkerTest {};

TEST_P(PubSubWorkerTest, OneSequenceAcrossWorkers) {
  start();
  std::string topic = topic_owned_by(0);
  int subscriber = open_session(1);  // matches on worker 1; topic owned by worker 0
  command(subscriber, R"({"op":"sub","topic":"t.*","id":"s"})");
  EXPECT_EQ(text(subscriber), R"({"type":"ack","id":"s"})");
  int local = open_session(0);
  int remote = open_session(1);
  for (int i = 0; i < 3; ++i) {
    command(local, R"({"op":"pub","topic":")" + topic + R"(","data":"L","id":1})");
    command(remote, R"({"op":"pub","topic":")" + topic + R"(","data":"R","id":2})");
  }
  std::string expect_prefix = R"({"type":"msg","topic":")" + topic + R"(","seq":)";
  for (int seq = 1; seq <= 6; ++seq) {
    std::string message = text(subscriber);
    EXPECT_EQ(message.rfind(expect_prefix + std::to_string(seq) + ",", 0), 0u) << message;
  }
  for (int fd : {local, remote}) {
    for (int i = 0; i < 3; ++i) EXPECT_NE(text(fd).find(R"("type":"ack")"), std::string::npos);
  }
  EXPECT_EQ(workers[0]->counters().messages_published.load(), 6u);
  for (int fd : {subscriber, local, remote}) close(fd);
}

TEST_P(PubSubWorkerTest, EchoFalseAndOverlapDeliverOnce) {
  start();
  std::string topic = topic_owned_by(1);
  int fd = open_session(0);
  command(fd, R"({"op":"sub","topic":")" + topic + R"("})");
  command(fd, R"({"op":"sub","topic":"t.>"})");
  command(fd, R"({"op":"pub","topic":")" + topic + R"(","data":1,"echo":false,"id":"a"})");
  command(fd, R"({"op":"pub","topic":")" + topic + R"(","data":2,"id":"b"})");
  EXPECT_EQ(text(fd), R"({"type":"ack","id":"a","seq":1})");
  EXPECT_EQ(text(fd), R"({"type":"msg","topic":")" + topic + R"(","seq":2,"data":2})");
  EXPECT_EQ(text(fd), R"({"type":"ack","id":"b","seq":2})");
  command(fd, R"({"op":"unsub","topic":"nope","id":3})");
  EXPECT_NE(text(fd).find("not_subscribed"), std::string::npos);
  close(fd);
}

TEST_P(PubSubWorkerTest, HttpRoutesAndPublish) {
  start();
  std::string topic = topic_owned_by(0);
  int subscriber = open_session(0);
  command(subscriber, R"({"op":"sub","topic":")" + topic + R"(","id":0})");
  text(subscriber);
  int http = connect_to(1);  // forwarded to the owner, answered when sequenced
  write_all(http, "POST /publish?topic=" + topic +
                      " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 7\r\n\r\n{\"a\":1}");
  std::string response = read_all(http);
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_NE(response.find(R"({"topic":")" + topic + R"(","seq":1})"), std::string::npos);
  close(http);
  EXPECT_EQ(text(subscriber),
            R"({"type":"msg","topic":")" + topic + R"(","seq":1,"data":{"a":1}})");
  struct Case {
    std::string request;
    std::string status;
  };
  for (const Case& c : {
           Case{"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "200"},
           Case{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "200"},
           Case{"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "405"},
           Case{"GET /publish?topic=a HTTP/1.1\r\nHost: x\r\n\r\n", "405"},
           Case{"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "400"},
           Case{"POST /publish?topic=a.* HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "400"},
           Case{"POST /publish?topic=a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 2\r\n\r\n{]",
                "400"},
           Case{"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", "404"},
       }) {
    int fd = connect_to(1);
    write_all(fd, c.request);
    std::string answer = read_all(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 " + c.status, 0), 0u) << c.request << "\n" << answer;
    if (c.request.starts_with("GET /metrics")) {
      EXPECT_NE(answer.find("herald_messages_published_total 1\n"), std::string::npos);
      EXPECT_NE(answer.find("herald_subscriptions 1\n"), std::string::npos);
    }
    close(fd);
  }
  close(subscriber);
}

TEST_P(PubSubWorkerTest, SubprotocolRulesOnTheRootPath) {
  start();
  close(open_session(0, ""));  // nothing offered: served
  int fd = connect_to(0);
  write_all(fd, ws::build_upgrade_request("localhost", "/", ws::make_sec_websocket_key(), "chat"));
  std::string answer = read_all(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("herald.v1 subprotocol required"), std::string::npos);
  close(fd);
}

TEST_P(PubSubWorkerTest, SixteenBadCommandsClose1008) {
  start();
  int fd = open_session(0);
  for (int i = 0; i < 15; ++i) command(fd, "nope");
  command(fd, R"({"op":"sub","topic":"ok"})");  // a good command resets the streak
  for (int i = 0; i < 16; ++i) command(fd, "nope");
  for (int i = 0; i < 31; ++i) EXPECT_NE(text(fd).find("bad_json"), std::string::npos) << i;
  Frame close_frame = read_frame(fd);
  EXPECT_EQ(close_frame.opcode, 8);
  EXPECT_EQ(close_frame.payload, std::string("\x03\xf0too many bad commands"));
  close(fd);
}

TEST_P(PubSubWorkerTest, SubscriptionLimit) {
  config.max_subscriptions = 1;
  start();
  int fd = open_session(0);
  command(fd, R"({"op":"sub","topic":"a","id":1})");
  command(fd, R"({"op":"sub","topic":"a","id":2,"policy":"drop"})");  // replaces, not a new one
  command(fd, R"({"op":"sub","topic":"b","id":3})");
  EXPECT_EQ(text(fd), R"({"type":"ack","id":1})");
  EXPECT_EQ(text(fd), R"({"type":"ack","id":2})");
  EXPECT_NE(text(fd).find(R"("id":3,"code":"too_many_subscriptions")"), std::string::npos);
  close(fd);
}

TEST_P(PubSubWorkerTest, DropPolicySendsAGapBeforeTheNextMessage) {
  config.max_queued_bytes = 1024;  // a 2000-byte message can never fit: dropped at once
  start();
  int fd = open_session(0);
  command(fd, R"({"op":"sub","topic":"d.x","policy":"drop","id":1})");
  EXPECT_EQ(text(fd), R"({"type":"ack","id":1})");
  int publisher = open_session(1);
  std::string big(2000, 'x');
  command(publisher, R"({"op":"pub","topic":"d.x","data":")" + big + R"("})");
  command(publisher, R"({"op":"pub","topic":"d.x","data":")" + big + R"("})");
  command(publisher, R"({"op":"pub","topic":"d.x","data":3})");
  EXPECT_EQ(text(fd), R"({"type":"gap","topic":"d.x","missed":2})");
  EXPECT_EQ(text(fd), R"({"type":"msg","topic":"d.x","seq":3,"data":3})");
  close(publisher);
  close(fd);
}

TEST_P(PubSubWorkerTest, DisconnectPolicyCloses1008) {
  config.max_queued_bytes = 1024;
  config.slow_consumer_policy = protocol::pubsub::Policy::kDisconnect;  // the server default
  start();
  int fd = open_session(1);
  command(fd, R"({"op":"sub","topic":"d.>","id":1})");
  EXPECT_EQ(text(fd), R"({"type":"ack","id":1})");
  int publisher = open_session(0);
  command(publisher, R"({"op":"pub","topic":"d.y","data":")" + std::string(2000, 'x') + R"("})");
  Frame close_frame = read_frame(fd);
  EXPECT_EQ(close_frame.opcode, 8);
  EXPECT_EQ(close_frame.payload, std::string("\x03\xf0slow consumer"));
  close(publisher);
  close(fd);
}

INSTANTIATE_TEST_SUITE_P(Backends, PubSubWorkerTest,
                         ::testing::Values(io::BackendKind::kUring, io::BackendKind::kEpoll),
                         testing::backend_name);

}  // namespace
}  // namespace herald::broker::net
