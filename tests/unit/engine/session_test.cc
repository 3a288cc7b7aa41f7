// Session generations (DESIGN.md "An agent is one person"): a second login of a logged-in agent
// moves it to the new session without touching its work; events of any other session are refused.
#include "unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

class SessionTest : public EngineTest {
 protected:
  // Applies `ev` as the shard does; returns its status, the decisions in `*out`.
  Status Apply(const pb::RoutingEvent& ev, Decisions* out) {
    out->clear();
    return engine_->Apply(ev, out);
  }
  static pb::RoutingEvent LoginEvent(const std::string& agent, const std::string& session,
                                     bool ready = true) {
    pb::RoutingEvent ev;
    *ev.mutable_agent_login()->mutable_agent() = SalesAgent(agent);
    ev.mutable_agent_login()->set_ready(ready);
    ev.mutable_agent_login()->set_session(session);
    return ev;
  }
  static pb::RoutingEvent LogoutEvent(const std::string& agent, const std::string& session) {
    pb::RoutingEvent ev;
    ev.mutable_agent_logout()->set_agent_id(agent);
    ev.mutable_agent_logout()->set_reason("desktop disconnected");
    ev.mutable_agent_logout()->set_session(session);
    return ev;
  }
  Decisions LogIn(const std::string& agent, const std::string& session, bool ready = true) {
    Decisions out;
    Status st = Apply(LoginEvent(agent, session, ready), &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  // The agent's record as ExportState() writes it.
  pb::AgentRecord RecordOf(const std::string& agent) {
    const pb::EngineState state = engine_->ExportState();
    for (const pb::AgentRecord& r : state.agents()) {
      if (r.agent().id() == agent) return r;
    }
    ADD_FAILURE() << "no agent " << agent;
    return {};
  }
  // Expects `st` refused as a stale session's event, answered with one DECISION_REFUSED naming
  // the stale session.
  static void ExpectStale(const Status& st, const Decisions& out, const std::string& stale,
                          const std::string& event) {
    EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
    auto refused = OfType(out, pb::DECISION_REFUSED);
    ASSERT_EQ(refused.size(), 1u) << Describe(out);
    EXPECT_EQ(refused[0].refused_event, event);
    EXPECT_EQ(refused[0].session, stale);
    EXPECT_EQ(refused[0].agent_id, "a1");
  }
};

TEST_F(SessionTest, ASecondLoginMovesTheAgentKeepingItsCallAndOneCapacity) {
  LogIn("a1", "s1");
  EXPECT_EQ(OnlyOffer(Arrive("c1", "sales")).agent_id, "a1");
  Decisions out;
  pb::RoutingEvent accept;
  accept.mutable_offer_accepted()->set_agent_id("a1");
  accept.mutable_offer_accepted()->set_contact_id("c1");
  accept.mutable_offer_accepted()->set_session("s1");
  ASSERT_TRUE(Apply(accept, &out).ok());
  ASSERT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);

  // The desktop came back through another node before its old node's grace period ran out.
  out = LogIn("a1", "s2");
  auto moved = OfType(out, pb::DECISION_AGENT_STATE);
  ASSERT_EQ(moved.size(), 2u) << Describe(out);
  EXPECT_EQ(moved[0].reason, pb::REASON_SESSION_MOVED);
  EXPECT_EQ(moved[0].agent_id, "a1");
  EXPECT_EQ(moved[0].session, "s2");
  EXPECT_EQ(moved[0].generation, 2u);
  // The call it keeps, named for the new desktop (its CONNECTED went to the old one).
  EXPECT_EQ(moved[1].reason, pb::REASON_SESSION_MOVED);
  EXPECT_EQ(moved[1].contact_id, "c1");
  EXPECT_EQ(moved[1].session, "s2");
  EXPECT_EQ(moved[1].detail, kHeldConnected);
  EXPECT_TRUE(OfType(out, pb::DECISION_REQUEUE).empty()) << Describe(out);

  auto call = engine_->GetContact("c1");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->state, pb::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(call->agent_id, "a1");
  auto agent = engine_->GetAgent("a1");
  ASSERT_TRUE(agent.ok());
  EXPECT_EQ(agent->state, pb::AGENT_STATE_BUSY);
  EXPECT_EQ(agent->capacity_units, 100u) << "one capacity, not two";
  EXPECT_EQ(agent->units_in_use, 100u);
  EXPECT_EQ(engine_->logged_in_agents(), 1u);
  EXPECT_TRUE(OfType(Arrive("c2", "sales"), pb::DECISION_OFFER).empty())
      << "a second voice call is not offered to an agent on one";
  EXPECT_EQ(StateOf("c2"), pb::CONTACT_STATE_WAITING);
  EXPECT_EQ(RecordOf("a1").session(), "s2");
  EXPECT_EQ(RecordOf("a1").generation(), 2u);
}

TEST_F(SessionTest, AStaleLogoutIsRefusedAndTheCallStaysConnected) {
  LogIn("a1", "s1");
  Arrive("c1", "sales");
  Decisions out;
  ASSERT_TRUE(engine_->OfferAccepted("a1", "c1", 0, &out, "s1").ok());
  LogIn("a1", "s2");

  // The old node's grace period runs out for s1.
  Status st = Apply(LogoutEvent("a1", "s1"), &out);
  ExpectStale(st, out, "s1", "agent_logout");
  EXPECT_EQ(st.message(),
            "agent \"a1\": logout of session \"s1\" ignored: session \"s2\" (generation 2) is "
            "current");
  EXPECT_TRUE(OfType(out, pb::DECISION_REQUEUE).empty()) << Describe(out);
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_BUSY);

  // Nor does a logout without a session take a desktop's agent away.
  ExpectStale(Apply(LogoutEvent("a1", ""), &out), out, "", "agent_logout");
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);
}

TEST_F(SessionTest, ActionsOfTheOlderSessionAreRefused) {
  LogIn("a1", "s1");
  EXPECT_EQ(OnlyOffer(Arrive("c1", "sales")).attempt, 1u);
  // The offer went to s1's desktop: it comes back and goes to the agent's new session.
  Decisions out = LogIn("a1", "s2");
  auto requeued = OfType(out, pb::DECISION_REQUEUE);
  ASSERT_EQ(requeued.size(), 1u) << Describe(out);
  EXPECT_EQ(requeued[0].reason, pb::REASON_SESSION_MOVED);
  EXPECT_EQ(OnlyOffer(out).attempt, 2u);
  EXPECT_EQ(OnlyOffer(out).agent_id, "a1");

  pb::RoutingEvent accept;
  accept.mutable_offer_accepted()->set_agent_id("a1");
  accept.mutable_offer_accepted()->set_contact_id("c1");
  accept.mutable_offer_accepted()->set_session("s1");
  ExpectStale(Apply(accept, &out), out, "s1", "offer_accepted");
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_OFFERED);
  pb::RoutingEvent reject;
  reject.mutable_offer_rejected()->set_agent_id("a1");
  reject.mutable_offer_rejected()->set_contact_id("c1");
  reject.mutable_offer_rejected()->set_session("s1");
  ExpectStale(Apply(reject, &out), out, "s1", "offer_rejected");
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_OFFERED);
  pb::RoutingEvent not_ready;
  not_ready.mutable_agent_not_ready()->set_agent_id("a1");
  not_ready.mutable_agent_not_ready()->set_reason("lunch");
  not_ready.mutable_agent_not_ready()->set_session("s1");
  ExpectStale(Apply(not_ready, &out), out, "s1", "agent_not_ready");
  EXPECT_EQ(engine_->GetAgent("a1")->reason, "");

  ASSERT_TRUE(engine_->OfferAccepted("a1", "c1", 0, &out, "s2").ok());
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);
  ASSERT_TRUE(engine_->AgentNotReady("a1", "lunch", &out, "s2").ok());
  pb::RoutingEvent ready;
  ready.mutable_agent_ready()->set_agent_id("a1");
  ready.mutable_agent_ready()->set_session("s1");
  ExpectStale(Apply(ready, &out), out, "s1", "agent_ready");
  EXPECT_EQ(engine_->GetAgent("a1")->reason, "lunch");

  // A desktop's completion: only from the current session, only of its own agent's call (a
  // channel's names no agent).
  pb::RoutingEvent complete;
  complete.mutable_contact_ended()->set_contact_id("c1");
  complete.mutable_contact_ended()->set_agent_id("a1");
  complete.mutable_contact_ended()->set_session("s1");
  ExpectStale(Apply(complete, &out), out, "s1", "contact_ended");
  complete.mutable_contact_ended()->set_agent_id("a2");
  complete.mutable_contact_ended()->set_session("s9");
  Status other = Apply(complete, &out);
  EXPECT_EQ(other.code(), Code::kFailedPrecondition) << other.ToString();
  EXPECT_NE(other.message().find("not connected to agent"), std::string::npos) << other.ToString();
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);

  End("c1");
  pb::RoutingEvent wrap_up;
  wrap_up.mutable_wrap_up_done()->set_agent_id("a1");
  wrap_up.mutable_wrap_up_done()->set_session("s1");
  ExpectStale(Apply(wrap_up, &out), out, "s1", "wrap_up_done");
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_AFTER_CONTACT_WORK);
  wrap_up.mutable_wrap_up_done()->set_session("s2");
  EXPECT_TRUE(Apply(wrap_up, &out).ok());
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_NOT_READY);
}

TEST_F(SessionTest, TheCurrentSessionLogsOutAndTheGenerationGoesOn) {
  LogIn("a1", "s1");
  Arrive("c1", "sales");
  Decisions out;
  ASSERT_TRUE(engine_->OfferAccepted("a1", "c1", 0, &out, "s1").ok());
  LogIn("a1", "s2");
  ASSERT_TRUE(Apply(LogoutEvent("a1", "s2"), &out).ok());
  auto requeued = OfType(out, pb::DECISION_REQUEUE);
  ASSERT_EQ(requeued.size(), 1u) << Describe(out);
  EXPECT_EQ(requeued[0].reason, pb::REASON_AGENT_LOGGED_OUT);
  EXPECT_EQ(AgentStateOf("a1"), pb::AGENT_STATE_LOGGED_OUT);
  EXPECT_EQ(RecordOf("a1").generation(), 2u);

  // A later login, of any session, is a fresh one: generation 3, not a move.
  out = LogIn("a1", "s3", /*ready=*/false);
  EXPECT_TRUE(OfType(out, pb::DECISION_AGENT_STATE).empty()) << Describe(out);
  EXPECT_EQ(RecordOf("a1").generation(), 3u);
  EXPECT_EQ(RecordOf("a1").session(), "s3");
}

TEST_F(SessionTest, LoginsWithoutASessionKeepTheirOldRules) {
  Decisions out;
  ASSERT_TRUE(Apply(LoginEvent("a1", ""), &out).ok());
  // Integrators and the load generator's Kafka agents: empty matches empty.
  EXPECT_EQ(Apply(LoginEvent("a1", ""), &out).code(), Code::kFailedPrecondition)
      << "already logged in";
  ASSERT_TRUE(engine_->AgentNotReady("a1", "break", &out).ok());
  // A desktop session takes over a login without one...
  LogIn("a1", "s1");
  EXPECT_EQ(RecordOf("a1").generation(), 2u);
  // ...but not the other way round, and the same session twice is refused as before.
  EXPECT_EQ(Apply(LoginEvent("a1", ""), &out).code(), Code::kFailedPrecondition);
  EXPECT_EQ(Apply(LoginEvent("a1", "s1"), &out).code(), Code::kFailedPrecondition);
  EXPECT_EQ(RecordOf("a1").session(), "s1");
  EXPECT_EQ(RecordOf("a1").generation(), 2u);
}

TEST_F(SessionTest, SessionAndGenerationSurviveExportAndRestore) {
  LogIn("a1", "s1");
  LogIn("a1", "s2");
  Arrive("c1", "sales");
  Decisions out;
  ASSERT_TRUE(engine_->OfferAccepted("a1", "c1", 0, &out, "s2").ok());
  auto restore = [&] {
    auto restored = Engine::Restore(config_, &clock_, engine_->ExportState());
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    engine_ = std::move(restored).value();
  };
  restore();
  EXPECT_EQ(RecordOf("a1").generation(), 2u);
  Status st = Apply(LogoutEvent("a1", "s1"), &out);
  ExpectStale(st, out, "s1", "agent_logout");
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);

  ASSERT_TRUE(Apply(LogoutEvent("a1", "s2"), &out).ok());
  restore();  // a logged-out agent keeps its generation too
  LogIn("a1", "s3");
  EXPECT_EQ(RecordOf("a1").generation(), 3u);
}

}  // namespace
}  // namespace sb::engine::testing
