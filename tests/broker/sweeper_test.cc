// Every branch of the Sweeper's once-a-second decision, from plain connection states: close
// timeouts per phase and Session state, the handshake timeout (with and without TLS), the
// idle ping and close, the buffer shrink, and the 4001/4003 deadlines through the AccessGate.
#include "broker/net/sweeper.h"

#include <gtest/gtest.h>

#include "tests/broker/access_fixture.h"

namespace herald::broker::net {
namespace {

using State = protocol::websocket::Session::State;
using Phase = Connection::Phase;
using Cut = SweepActions::Cut;
using Idle = SweepActions::Idle;

class SweeperTest : public testing::AccessFixture {
 protected:
  SweeperTest() {
    config_.handshake_timeout_ms = 10'000;
    config_.idle_timeout_ms = 60'000;
    config_.close_timeout_ms = 5'000;
  }

  // A connection in `phase` and `session` state since `since_ms`, last heard from then too.
  SweepInput input(Phase phase, State session, uint64_t since_ms = kStart) const {
    SweepInput in;
    in.phase = phase;
    in.session = session;
    in.phase_since_ms = since_ms;
    in.last_receive_ms = since_ms;
    in.access = &access_;
    return in;
  }
  // An open connection that was given its buffers back: only the idle rules apply.
  SweepInput open_input(uint64_t last_receive_ms) const {
    SweepInput in = input(Phase::kActive, State::kOpen, last_receive_ms);
    in.shrunk = true;
    return in;
  }
  SweepActions decide(const SweepInput& in, uint64_t now_ms) const {
    return sweeper_.decide(in, now_ms, auth::unix_now_s());
  }
  static bool idle_only(const SweepActions& actions) {
    return actions.cut == Cut::kNone && !actions.access && !actions.shrink;
  }

  static constexpr uint64_t kStart = 100'000;
  AccessState access_;
  AccessGate gate_{config_, counters_};
  Sweeper sweeper_{config_, gate_};
};

TEST_F(SweeperTest, ClosingConnectionIsLeftAlone) {
  for (State session : {State::kHandshake, State::kOpen, State::kClosing}) {
    SweepActions actions = decide(input(Phase::kClosing, session), kStart + 1'000'000);
    EXPECT_EQ(actions.cut, Cut::kNone);
    EXPECT_TRUE(idle_only(actions));
    EXPECT_EQ(actions.idle, Idle::kNone);
  }
}

TEST_F(SweeperTest, FlushingOrLingeringPastTheCloseTimeoutIsCut) {
  for (Phase phase : {Phase::kFlushing, Phase::kLingering}) {
    EXPECT_EQ(decide(input(phase, State::kOpen), kStart + 4'999).cut, Cut::kNone);
    SweepActions actions = decide(input(phase, State::kOpen), kStart + 5'000);
    EXPECT_EQ(actions.cut, Cut::kCloseTimeout);
    // Nothing else is decided for a connection on its way out, however silent.
    EXPECT_FALSE(actions.shrink);
    EXPECT_EQ(actions.idle, Idle::kNone);
  }
}

TEST_F(SweeperTest, SlowHandshakeIsCut) {
  for (State session : {State::kHandshake, State::kDeciding}) {
    EXPECT_EQ(decide(input(Phase::kActive, session), kStart + 9'999).cut, Cut::kNone);
    SweepActions actions = decide(input(Phase::kActive, session), kStart + 10'000);
    EXPECT_EQ(actions.cut, Cut::kHandshakeTimeout);
    EXPECT_FALSE(actions.tls_handshake_failed);
    EXPECT_FALSE(actions.shrink);
  }
  SweepInput tls = input(Phase::kActive, State::kHandshake);
  tls.tls_handshake_pending = true;
  SweepActions actions = decide(tls, kStart + 10'000);
  EXPECT_EQ(actions.cut, Cut::kHandshakeTimeout);
  EXPECT_TRUE(actions.tls_handshake_failed);
}

TEST_F(SweeperTest, UnansweredCloseIsCutAfterTheCloseTimeout) {
  EXPECT_EQ(decide(input(Phase::kActive, State::kClosing), kStart + 4'999).cut, Cut::kNone);
  SweepActions actions = decide(input(Phase::kActive, State::kClosing), kStart + 5'000);
  EXPECT_EQ(actions.cut, Cut::kCloseTimeout);
  EXPECT_EQ(actions.idle, Idle::kNone);
}

TEST_F(SweeperTest, ClosedSessionWaitsForTheWorker) {
  SweepActions actions = decide(input(Phase::kActive, State::kClosed), kStart + 1'000'000);
  EXPECT_TRUE(idle_only(actions));
  EXPECT_EQ(actions.idle, Idle::kNone);
}

TEST_F(SweeperTest, SilentConnectionGivesItsBuffersBackOnce) {
  SweepInput in = input(Phase::kActive, State::kOpen);
  EXPECT_FALSE(decide(in, kStart + 999).shrink);
  EXPECT_TRUE(decide(in, kStart + 1'000).shrink);
  in.shrunk = true;
  EXPECT_FALSE(decide(in, kStart + 1'000).shrink);
}

TEST_F(SweeperTest, IdleConnectionIsPingedThenClosed) {
  EXPECT_EQ(decide(open_input(kStart), kStart + 59'999).idle, Idle::kNone);
  SweepActions actions = decide(open_input(kStart), kStart + 60'000);
  EXPECT_EQ(actions.idle, Idle::kPing);
  EXPECT_TRUE(idle_only(actions));
  // The worker then counts the idle timeout from the ping.
  SweepInput pinged = open_input(kStart);
  pinged.ping_sent = true;
  pinged.phase_since_ms = kStart + 60'000;
  EXPECT_EQ(decide(pinged, kStart + 119'999).idle, Idle::kNone);
  EXPECT_EQ(decide(pinged, kStart + 120'000).idle, Idle::kClose);
}

TEST_F(SweeperTest, AccessDeadlinesApplyToOpenPubSubConnections) {
  build_auth();
  access_.accepted_ms = kStart;
  SweepInput in = open_input(kStart);
  in.pubsub = true;
  EXPECT_FALSE(decide(in, kStart + 9'999).access.has_value());
  SweepActions actions = decide(in, kStart + 10'000);
  ASSERT_TRUE(actions.access.has_value());
  EXPECT_EQ(actions.access->reason, core::CloseReason::kUnauthorized);
  EXPECT_EQ(actions.access->refusal, core::Refusal::kAuthTimeout);
  EXPECT_EQ(actions.cut, Cut::kNone);
  // The sweep goes on past the access close: a silent connection also shrinks.
  in.shrunk = false;
  actions = decide(in, kStart + 10'000);
  EXPECT_TRUE(actions.access.has_value());
  EXPECT_TRUE(actions.shrink);

  // The echo route has no auth command: no deadline.
  in.pubsub = false;
  EXPECT_FALSE(decide(in, kStart + 10'000).access.has_value());
  // Nor before the WebSocket is open (the handshake timeout covers that).
  SweepInput handshake = input(Phase::kActive, State::kDeciding, kStart + 5'000);
  handshake.pubsub = true;
  EXPECT_FALSE(decide(handshake, kStart + 10'000).access.has_value());

  // An expired grant: 4003.
  access_.grant = std::make_unique<auth::Claims>();
  access_.grant->expires_s = auth::unix_now_s() - auth::kLeewaySeconds - 10;
  in.pubsub = true;
  actions = decide(in, kStart + 10'000);
  ASSERT_TRUE(actions.access.has_value());
  EXPECT_EQ(actions.access->reason, core::CloseReason::kTokenExpired);
  access_.grant->expires_s = auth::unix_now_s() + 60;
  EXPECT_FALSE(decide(in, kStart + 10'000).access.has_value());
}

TEST_F(SweeperTest, NoAccessDeadlineWithAuthOff) {
  access_.accepted_ms = 0;
  SweepInput in = open_input(kStart);
  in.pubsub = true;
  EXPECT_FALSE(decide(in, kStart + 1'000'000).access.has_value());
}

}  // namespace
}  // namespace herald::broker::net
