// The desks of a gateway's agents (router/gateway/desks.h): a drain and a session opening at the
// same moment never leave a desk open on the draining node; a session the engine moved elsewhere
// ends here and its grace logout is dropped, a newer one stays; refusals reach only their session.
#include "router/gateway/desks.h"

#include <gtest/gtest.h>

#include <deque>

namespace sb::gateway {
namespace {

pb::Agent AgentNamed(const std::string& id) {
  pb::Agent a;
  a.set_id(id);
  return a;
}

// What the engine decides when `agent` logs in with `session` (generation `generation`) while
// logged in with another session: the login was input record `offset` of sb.agent-events.
pb::Decision MovedTo(const std::string& agent, const std::string& session, uint64_t generation,
                     int64_t offset) {
  pb::Decision d;
  d.set_type(pb::DECISION_AGENT_STATE);
  d.set_reason(pb::REASON_SESSION_MOVED);
  d.set_agent_id(agent);
  d.set_session(session);
  d.set_generation(generation);
  d.set_input_topic("sb.agent-events");
  d.set_input_offset(offset);
  return d;
}

pb::Decision RefusedIn(const std::string& agent, const std::string& session) {
  pb::Decision d;
  d.set_type(pb::DECISION_REFUSED);
  d.set_agent_id(agent);
  d.set_session(session);
  d.set_refusal_code("FAILED_PRECONDITION");
  d.set_refused_event("agent_ready");
  return d;
}

// What is waiting on `desk` now; whether it is closed.
std::deque<pb::AgentUpdate> Waiting(Desk& desk, bool* closed) {
  std::deque<pb::AgentUpdate> batch;
  *closed = desk.Take(absl::ZeroDuration(), &batch);
  return batch;
}

TEST(DesksTest, NoDeskOpensOnceTheNodeIsDraining) {
  Desks desks(/*grace_ms=*/1000);
  std::shared_ptr<Desk> before = desks.Open(AgentNamed("a1"), 0, "n1-1");
  ASSERT_NE(before, nullptr);
  desks.StartDraining();
  EXPECT_TRUE(desks.draining());
  // A session that checked draining() before the drain began reaches Open() after it.
  EXPECT_EQ(desks.Open(AgentNamed("a2"), 1, "n1-2"), nullptr);
  pb::AgentUpdate bye;
  bye.mutable_refused()->set_message("node draining, connect to another node");
  EXPECT_EQ(desks.CloseAll(bye), 1u) << "only the desk opened before the drain";
  EXPECT_EQ(desks.Find("a2"), nullptr);
}

TEST(DesksTest, ANewSessionOfTheSameAgentClosesTheOlderOne) {
  Desks desks(/*grace_ms=*/1000);
  std::shared_ptr<Desk> first = desks.Open(AgentNamed("a1"), 0, "n1-1");
  std::shared_ptr<Desk> second = desks.Open(AgentNamed("a1"), 0, "n1-2");
  EXPECT_EQ(desks.Find("a1"), second);
  bool closed = false;
  auto last = Waiting(*first, &closed);
  EXPECT_TRUE(closed);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].refused().code(), "ABORTED");
  desks.Close(first, /*logged_out=*/false);  // the older session ending changes nothing
  EXPECT_EQ(desks.Find("a1"), second);
  EXPECT_TRUE(desks.TakeDueLogouts().empty());
}

TEST(DesksTest, ASessionMovedElsewhereEndsHereWithoutAGraceLogout) {
  Desks desks(/*grace_ms=*/0);
  std::shared_ptr<Desk> old = desks.Open(AgentNamed("a1"), 0, "n1-1");
  old->set_login_offset(10);
  // The desktop also logged in through node 2 (record 15); the engine moved the agent there.
  desks.Deliver(MovedTo("a1", "n2-1", 2, 15), /*shard=*/0);
  bool closed = false;
  auto last = Waiting(*old, &closed);
  EXPECT_TRUE(closed);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].refused().code(), "ABORTED");
  EXPECT_NE(last[0].refused().message().find("n2-1"), std::string::npos)
      << last[0].refused().message();
  EXPECT_EQ(desks.Find("a1"), nullptr);
  desks.Close(old, /*logged_out=*/false);
  EXPECT_TRUE(desks.TakeDueLogouts().empty()) << "no logout for a session the agent left";
}

TEST(DesksTest, AMoveDropsTheGraceLogoutOfTheSessionItSuperseded) {
  Desks desks(/*grace_ms=*/0);
  std::shared_ptr<Desk> dropped = desks.Open(AgentNamed("a1"), 0, "n1-1");
  dropped->set_login_offset(10);
  desks.Close(dropped, /*logged_out=*/false);  // the stream dropped: a logout is pending
  desks.Deliver(MovedTo("a1", "n2-1", 2, 15), /*shard=*/0);
  EXPECT_TRUE(desks.TakeDueLogouts().empty()) << "the superseded session's logout is dropped";

  // Without a move, the due logout names its session (the engine refuses it if not current).
  Desks plain(/*grace_ms=*/0);
  std::shared_ptr<Desk> gone = plain.Open(AgentNamed("a1"), 3, "n1-7");
  plain.Close(gone, /*logged_out=*/false);
  auto due = plain.TakeDueLogouts();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].agent_id, "a1");
  EXPECT_EQ(due[0].partition, 3);
  EXPECT_EQ(due[0].session, "n1-7");
}

TEST(DesksTest, ANewerSessionThanTheMoveStaysAndHearsItsOwnMove) {
  Desks desks(/*grace_ms=*/1000);
  // Logged in after the move's record (or not acknowledged yet): newer than the move.
  std::shared_ptr<Desk> newer = desks.Open(AgentNamed("a1"), 0, "n1-3");
  newer->set_login_offset(20);
  desks.Deliver(MovedTo("a1", "n2-1", 2, 15), /*shard=*/0);
  std::shared_ptr<Desk> unacked = desks.Open(AgentNamed("a2"), 0, "n1-4");
  desks.Deliver(MovedTo("a2", "n2-2", 5, 15), /*shard=*/0);
  bool closed = false;
  EXPECT_TRUE(Waiting(*newer, &closed).empty());
  EXPECT_FALSE(closed);
  EXPECT_TRUE(Waiting(*unacked, &closed).empty());
  EXPECT_FALSE(closed);

  // The move to this desk's own session: the desktop learns it, the desk stays.
  desks.Deliver(MovedTo("a1", "n1-3", 3, 20), /*shard=*/0);
  auto own = Waiting(*newer, &closed);
  EXPECT_FALSE(closed);
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].decision().reason(), pb::REASON_SESSION_MOVED);
  EXPECT_EQ(desks.Find("a1"), newer);
}

TEST(DesksTest, ARefusalReachesOnlyTheSessionThatSentTheEvent) {
  Desks desks(/*grace_ms=*/1000);
  std::shared_ptr<Desk> desk = desks.Open(AgentNamed("a1"), 0, "n1-2");
  desks.Deliver(RefusedIn("a1", "n1-1"), /*shard=*/0);  // an older session's late event
  bool closed = false;
  EXPECT_TRUE(Waiting(*desk, &closed).empty());
  desks.Deliver(RefusedIn("a1", "n1-2"), /*shard=*/0);
  // No session: an integrator's transfer for the agent.
  desks.Deliver(RefusedIn("a1", ""), /*shard=*/0);
  EXPECT_EQ(Waiting(*desk, &closed).size(), 2u);
}

TEST(DesksTest, ARefusedLoginEndsItsDeskWithoutAGraceLogout) {
  Desks desks(/*grace_ms=*/0);
  std::shared_ptr<Desk> desk = desks.Open(AgentNamed("a1"), 0, "n1-2");
  pb::Decision refused = RefusedIn("a1", "n1-2");
  refused.set_refused_event("agent_login");
  refused.set_detail("agent \"a1\" is logged in under routing domain \"d01\" (shard 0)");
  desks.Deliver(refused, /*shard=*/0);
  bool closed = false;
  auto last = Waiting(*desk, &closed);
  EXPECT_TRUE(closed);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].refused().code(), "FAILED_PRECONDITION");
  EXPECT_NE(last[0].refused().message().find("login refused: agent \"a1\" is logged in under "
                                             "routing domain \"d01\""),
            std::string::npos)
      << last[0].refused().message();
  EXPECT_EQ(desks.Find("a1"), nullptr);
  desks.Close(desk, /*logged_out=*/false);
  EXPECT_TRUE(desks.TakeDueLogouts().empty()) << "the agent was never logged in here";

  // An integrator's login without a session, refused because the desk holds the agent.
  std::shared_ptr<Desk> held = desks.Open(AgentNamed("a2"), 0, "n1-3");
  pb::Decision other = RefusedIn("a2", "");
  other.set_refused_event("agent_login");
  desks.Deliver(other, /*shard=*/0);
  EXPECT_TRUE(Waiting(*held, &closed).empty());
  EXPECT_FALSE(closed);
}

TEST(DesksTest, ADeskHearsOnlyTheShardItsLoginWentTo) {
  Desks desks(/*grace_ms=*/1000);
  std::shared_ptr<Desk> desk = desks.Open(AgentNamed("a1"), 1, "n1-2");
  pb::Decision offer;
  offer.set_type(pb::DECISION_OFFER);
  offer.set_agent_id("a1");
  offer.set_contact_id("c1");
  pb::Decision refused = RefusedIn("a1", "n1-2");
  refused.set_refused_event("agent_login");
  desks.Deliver(offer, /*shard=*/0);  // the same agent id's login under a domain of shard 0
  desks.Deliver(refused, /*shard=*/0);
  desks.Deliver(MovedTo("a1", "n2-1", 2, 15), /*shard=*/0);
  bool closed = false;
  EXPECT_TRUE(Waiting(*desk, &closed).empty());
  EXPECT_FALSE(closed);
  desks.Deliver(offer, /*shard=*/1);
  EXPECT_EQ(Waiting(*desk, &closed).size(), 1u);
}

TEST(DesksTest, SessionIdsAreNamedByTheNodeAndDiffer) {
  const std::string a = NewSessionId("node-1");
  const std::string b = NewSessionId("node-1");
  EXPECT_EQ(a.rfind("node-1-", 0), 0u) << a;
  EXPECT_EQ(a.size(), std::string("node-1-").size() + 16);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace sb::gateway
