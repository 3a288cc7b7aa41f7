// Abandonment, cancel, logout with contacts in hand, expiry, statistics, estimated wait.
#include "unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

TEST_F(EngineTest, AbandonRemovesAtOnceAndCountsShortAbandonsApart) {
  Arrive("quick", "sales");
  Arrive("patient", "sales");
  Advance(4'000);
  Do([&](Decisions* o) { return engine_->ContactAbandoned("quick", o); });
  Advance(10'000);
  Do([&](Decisions* o) { return engine_->ContactAbandoned("patient", o); });
  EXPECT_FALSE(engine_->GetContact("quick").ok());
  EXPECT_EQ(Stats("sales").short_abandoned(), 1u);
  EXPECT_EQ(Stats("sales").abandoned(), 1u);
  Login("a", {{"sales", 1}});
  EXPECT_EQ(AgentStateOf("a"), pb::AGENT_STATE_READY) << "nothing left to offer";
}

TEST_F(EngineTest, AbandonDuringOfferWithdrawsItAndFreesTheAgent) {
  Login("a", {{"sales", 1}});
  Arrive("c1", "sales");
  Arrive("c2", "sales");
  auto d = Do([&](Decisions* o) { return engine_->ContactAbandoned("c1", o); });
  auto withdraw = OfType(d, pb::DECISION_WITHDRAW);
  ASSERT_EQ(withdraw.size(), 1u);
  EXPECT_EQ(withdraw[0].agent_id, "a");
  EXPECT_EQ(OnlyOffer(d).contact_id, "c2");
}

TEST_F(EngineTest, CancelIsCountedAsCancelledNotAbandoned) {
  Arrive("c1", "sales");
  Advance(60'000);
  Do([&](Decisions* o) { return engine_->ContactCancelled("c1", o); });
  EXPECT_EQ(Stats("sales").cancelled(), 1u);
  EXPECT_EQ(Stats("sales").abandoned(), 0u);
}

TEST_F(EngineTest, AbandonOfConnectedContactIsRefused) {
  Login("a", {{"sales", 1}});
  Arrive("c1", "sales");
  Accept("a", "c1");
  Decisions out;
  EXPECT_EQ(engine_->ContactAbandoned("c1", &out).code(), Code::kFailedPrecondition);
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_CONNECTED);
}

TEST_F(EngineTest, LogoutRequeuesEverythingTheAgentHeld) {
  Login("a", {{"sales", 1}});
  Arrive("chat1", "sales", pb::CHANNEL_CHAT);
  Accept("a", "chat1");
  Arrive("chat2", "sales", pb::CHANNEL_CHAT);  // offered, not answered
  ASSERT_EQ(StateOf("chat2"), pb::CONTACT_STATE_OFFERED);
  auto d = Do([&](Decisions* o) { return engine_->AgentLogout("a", o); });
  auto requeued = OfType(d, pb::DECISION_REQUEUE);
  ASSERT_EQ(requeued.size(), 2u);
  for (const auto& r : requeued) EXPECT_EQ(r.reason, pb::REASON_AGENT_LOGGED_OUT);
  EXPECT_EQ(StateOf("chat1"), pb::CONTACT_STATE_WAITING);
  EXPECT_EQ(StateOf("chat2"), pb::CONTACT_STATE_WAITING);
  EXPECT_EQ(AgentStateOf("a"), pb::AGENT_STATE_LOGGED_OUT);
  Login("b", {{"sales", 1}});
  EXPECT_EQ(StateOf("chat1"), pb::CONTACT_STATE_OFFERED);
  Accept("b", "chat1");
  EXPECT_EQ(Stats("sales").answered(), 1u) << "answered once even though connected twice";
}

TEST_F(EngineTest, LogoutEndsAfterContactWork) {
  Login("a", {{"sales", 1}});
  Arrive("c1", "sales");
  Accept("a", "c1");
  End("c1");
  Do([&](Decisions* o) { return engine_->AgentLogout("a", o); });
  EXPECT_FALSE(engine_->GetContact("c1").ok()) << "completed contact is done, not requeued";
}

TEST_F(EngineTest, ContactWaitingPastMaxWaitExpires) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "sales")->set_max_wait_s(120);
  Build(cfg);
  Arrive("c1", "sales");
  auto d = Advance(120'000);
  auto expired = OfType(d, pb::DECISION_EXPIRE);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].reason, pb::REASON_MAX_WAIT);
  EXPECT_FALSE(engine_->GetContact("c1").ok());
  EXPECT_EQ(Stats("sales").expired(), 1u);
}

TEST_F(EngineTest, MaxWaitRunningOutDuringAnOfferExpiresOnRequeue) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "sales")->set_max_wait_s(30);
  Build(cfg);
  Arrive("c1", "sales");
  Advance(25'000);
  Login("a", {{"sales", 1}});  // offered at 25 s; the max wait runs out at 30 s during the offer
  ASSERT_EQ(StateOf("c1"), pb::CONTACT_STATE_OFFERED);
  auto d = Advance(10'000);  // offer times out at 35 s
  ASSERT_EQ(OfType(d, pb::DECISION_EXPIRE).size(), 1u) << Describe(d);
  EXPECT_FALSE(engine_->GetContact("c1").ok());
}

TEST_F(EngineTest, ViewsReportAgesAtTheClocksTime) {
  Arrive("c1", "sales");
  clock_.AdvanceMs(20'000);  // no engine call since
  EXPECT_EQ(engine_->GetContact("c1")->waited_ms, 20'000);
  EXPECT_EQ(engine_->Summarize().queues[0].oldest_wait_ms, 20'000);
}

TEST_F(EngineTest, ServiceLevelCountsAnsweredWithinThreshold) {
  Login("a", {{"sales", 1}}, /*ready=*/false);
  Arrive("fast", "sales");
  Advance(5'000);
  Ready("a");
  Accept("a", "fast");
  End("fast");
  Arrive("slow", "sales");
  Advance(25'000);
  WrapUp("a");
  Accept("a", "slow");
  const auto& st = Stats("sales");
  EXPECT_EQ(st.answered(), 2u);
  EXPECT_EQ(st.answered_in_threshold(), 1u);
  EXPECT_EQ(st.answered_wait_ms_total(), 30'000);
  EXPECT_DOUBLE_EQ(summary_.queues[0].service_level, 0.5);
}

TEST_F(EngineTest, TestAndOutboundContactsStayOutOfStatistics) {
  pb::Contact t = MakeContact("t1", "sales");
  t.mutable_flags()->set_test(true);
  pb::Contact o = MakeContact("o1", "sales", pb::CHANNEL_CALLBACK);
  o.mutable_flags()->set_outbound(true);
  Arrive(t);
  Arrive(o);
  Advance(60'000);
  Do([&](Decisions* out) { return engine_->ContactAbandoned("t1", out); });
  EXPECT_EQ(Stats("sales").arrived(), 0u);
  EXPECT_EQ(Stats("sales").abandoned(), 0u);
}

TEST_F(EngineTest, EstimatedWaitGrowsWithQueuePosition) {
  Login("a", {{"sales", 1}});
  Login("b", {{"sales", 1}});
  for (const char* id : {"x", "y", "c1", "c2", "c3"}) Arrive(id, "sales");
  auto c1 = engine_->GetContact("c1");
  auto c3 = engine_->GetContact("c3");
  ASSERT_TRUE(c1.ok() && c3.ok());
  EXPECT_EQ(c1->position, 0);
  EXPECT_EQ(c3->position, 2);
  // Two agents, default handle time 180 s: position p waits about (p + 1) * 90 s.
  EXPECT_EQ(c1->estimated_wait_ms, 90'000);
  EXPECT_EQ(c3->estimated_wait_ms, 270'000);
  // A measured handle time replaces the default.
  Accept("a", "x");
  Advance(20'000);
  End("x");
  WrapUp("a");
  EXPECT_LT(engine_->GetContact("c3")->estimated_wait_ms, 270'000);
}

TEST_F(EngineTest, DuplicateContactIdIsRejected) {
  Arrive("c1", "sales");
  Decisions out;
  EXPECT_EQ(engine_->ContactArrived(MakeContact("c1", "sales"), &out).code(), Code::kAlreadyExists);
}

TEST_F(EngineTest, BadInputNamesTheField) {
  Decisions out;
  Status st = engine_->ContactArrived(MakeContact("c1", "nowhere"), &out);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("contact.queue"), std::string::npos);
  st = engine_->ContactArrived(MakeContact("c1", "sales", pb::CHANNEL_UNSPECIFIED), &out);
  EXPECT_NE(st.message().find("contact.channel"), std::string::npos);
  pb::Agent a;
  a.set_id("x");
  a.set_domain("d1");
  a.add_skills()->set_skill("sales");
  a.mutable_skills(0)->set_proficiency(9);
  st = engine_->AgentLogin(a, true, &out);
  EXPECT_NE(st.message().find("agent.skills[0].proficiency"), std::string::npos) << st.message();
  EXPECT_EQ(engine_->AgentReady("ghost", &out).code(), Code::kNotFound);
  EXPECT_EQ(engine_->ContactEnded("ghost", &out).code(), Code::kNotFound);
  pb::RoutingEvent empty;
  EXPECT_EQ(engine_->Apply(empty, &out).code(), Code::kInvalidArgument);
}

// A refused event a person or an integrator sent is answered with one DECISION_REFUSED; the
// engine's own timers and another shard's forwards are not.
TEST_F(EngineTest, RefusedEventsAreAnsweredWithTheirActorCodeAndEvent) {
  Login("a", {{"sales", 1}});
  pb::RoutingEvent accept;
  accept.mutable_offer_accepted()->set_agent_id("a");
  accept.mutable_offer_accepted()->set_contact_id("ghost");
  Decisions out;
  Status st = engine_->Apply(accept, &out);
  ASSERT_EQ(st.code(), Code::kNotFound);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, pb::DECISION_REFUSED);
  EXPECT_EQ(out[0].agent_id, "a");
  EXPECT_EQ(out[0].contact_id, "ghost");
  EXPECT_EQ(out[0].refusal_code, CodeName(Code::kNotFound));
  EXPECT_EQ(out[0].detail, st.message());
  EXPECT_EQ(out[0].refused_event, "offer_accepted");
  EXPECT_EQ(out[0].at_ms, engine_->now_ms());

  pb::RoutingEvent arrive;
  *arrive.mutable_contact_arrived()->mutable_contact() = MakeContact("c1", "nowhere");
  out.clear();
  EXPECT_EQ(engine_->Apply(arrive, &out).code(), Code::kInvalidArgument);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].contact_id, "c1");
  EXPECT_EQ(out[0].refused_event, "contact_arrived");

  (*arrive.mutable_contact_arrived()
        ->mutable_contact()
        ->mutable_attributes())[kForwardedFromAttribute] = "3";
  out.clear();
  EXPECT_EQ(engine_->Apply(arrive, &out).code(), Code::kInvalidArgument);
  EXPECT_TRUE(out.empty()) << "a forward is the shards' own doing: nobody to answer";
  pb::RoutingEvent command;
  command.mutable_follow_up();
  EXPECT_FALSE(engine_->Apply(command, &out).ok());
  EXPECT_FALSE(engine_->Apply(pb::RoutingEvent(), &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(EngineTest, DoubleLoginIsRefused) {
  Login("a", {{"sales", 1}});
  pb::Agent a;
  a.set_id("a");
  a.set_domain("d1");
  Decisions out;
  EXPECT_EQ(engine_->AgentLogin(a, true, &out).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace sb::engine::testing
