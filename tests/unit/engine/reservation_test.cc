// Reservation: offer timeout, reject, after-contact work, difficult cap.
#include "unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

TEST_F(EngineTest, UnansweredOfferRequeuesAtItsPlaceAndSetsAgentNotReady) {
  Login("slow", {{"sales", 1}});
  Arrive("first", "sales");  // offered to slow
  Advance(100);
  Arrive("second", "sales");  // waits
  auto d = Advance(10'000);   // offer timeout
  auto state = OfType(d, pb::DECISION_AGENT_STATE);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].reason, pb::REASON_MISSED_OFFER);
  auto requeue = OfType(d, pb::DECISION_REQUEUE);
  ASSERT_EQ(requeue.size(), 1u);
  EXPECT_EQ(requeue[0].contact_id, "first");
  EXPECT_EQ(requeue[0].reason, pb::REASON_OFFER_TIMEOUT);
  EXPECT_EQ(AgentStateOf("slow"), pb::AGENT_STATE_NOT_READY);
  EXPECT_EQ(engine_->GetAgent("slow")->reason, "missed offer");
  // "first" is back ahead of "second", which arrived later.
  EXPECT_EQ(engine_->GetContact("first")->position, 0);
  EXPECT_EQ(engine_->GetContact("second")->position, 1);
  Login("next", {{"sales", 1}}, /*ready=*/false);
  Decision offer = OnlyOffer(Ready("next"));
  EXPECT_EQ(offer.contact_id, "first");
  EXPECT_EQ(offer.attempt, 2u) << "offers of one contact are numbered";
}

TEST_F(EngineTest, AnsweringAfterTheTimeoutFails) {
  Login("slow", {{"sales", 1}});
  Arrive("c1", "sales");
  Advance(10'000);
  Decisions out;
  Status st = engine_->OfferAccepted("slow", "c1", 1, &out);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
}

TEST_F(EngineTest, RejectGoesToNextAgentAndNeverBackToTheRejecter) {
  Login("a", {{"sales", 1}});
  Advance(1);
  Login("b", {{"sales", 1}});
  EXPECT_EQ(OnlyOffer(Arrive("c1", "sales")).agent_id, "a");
  auto d = Reject("a", "c1");
  EXPECT_EQ(OfType(d, pb::DECISION_REQUEUE).at(0).reason, pb::REASON_OFFER_REJECTED);
  EXPECT_EQ(OnlyOffer(d).agent_id, "b");
  Reject("b", "c1");
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_WAITING)
      << "both rejected it: it waits for someone else";
  EXPECT_EQ(AgentStateOf("a"), pb::AGENT_STATE_READY) << "a rejecting agent stays ready";
  Arrive("c2", "sales");
  EXPECT_EQ(StateOf("c2"), pb::CONTACT_STATE_OFFERED) << "the rejecters still take other contacts";
  Login("c", {{"sales", 1}});
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_OFFERED);
  EXPECT_EQ(engine_->GetContact("c1")->agent_id, "c");
}

TEST_F(EngineTest, NoNewOfferUntilWrapUpIsDone) {
  Login("a", {{"sales", 1}});
  Arrive("c1", "sales");
  Accept("a", "c1");
  Arrive("c2", "sales");
  End("c1");
  EXPECT_EQ(AgentStateOf("a"), pb::AGENT_STATE_AFTER_CONTACT_WORK);
  EXPECT_EQ(StateOf("c2"), pb::CONTACT_STATE_WAITING);
  Decision offer = OnlyOffer(WrapUp("a", "c1"));
  EXPECT_EQ(offer.contact_id, "c2");
}

TEST_F(EngineTest, AcwLimitEndsWrapUpByItself) {
  Login("a", {{"sales", 1}});
  Arrive("c1", "sales");
  Accept("a", "c1");
  Arrive("c2", "sales");
  End("c1");
  EXPECT_TRUE(OfType(Advance(29'999), pb::DECISION_OFFER).empty());
  auto d = Advance(1);
  EXPECT_EQ(OfType(d, pb::DECISION_AGENT_STATE).at(0).reason, pb::REASON_ACW_LIMIT);
  EXPECT_EQ(OnlyOffer(d).contact_id, "c2");
}

TEST_F(EngineTest, WrapUpWithoutAfterContactWorkFails) {
  Login("a", {{"sales", 1}});
  Decisions out;
  EXPECT_EQ(engine_->WrapUpDone("a", "", &out).code(), Code::kFailedPrecondition);
}

TEST_F(EngineTest, DifficultContactCapInARow) {
  pb::RoutingConfig cfg = BaseConfig();
  cfg.set_difficult_cap(2);
  FindQueue(cfg, "sales")->set_acw_limit_s(0);
  Build(cfg);
  Login("a", {{"sales", 1}}, /*ready=*/false);
  auto difficult = [&](const std::string& id) {
    pb::Contact c = MakeContact(id, "sales");
    c.mutable_flags()->set_difficult(true);
    return c;
  };
  auto serve = [&](const std::string& id) {
    Accept("a", id);
    NotReady("a");
    End(id);
  };
  Arrive(difficult("d1"));
  Arrive(difficult("d2"));
  Arrive(difficult("d3"));
  Arrive("easy", "sales");
  EXPECT_EQ(OnlyOffer(Ready("a")).contact_id, "d1");
  serve("d1");
  EXPECT_EQ(OnlyOffer(Ready("a")).contact_id, "d2");
  serve("d2");
  EXPECT_EQ(OnlyOffer(Ready("a")).contact_id, "easy") << "two difficult in a row: the cap";
  serve("easy");
  EXPECT_EQ(OnlyOffer(Ready("a")).contact_id, "d3") << "a normal contact resets the streak";
}

TEST_F(EngineTest, DifficultCapCountsOffersInFlight) {
  pb::RoutingConfig cfg = BaseConfig();
  cfg.set_difficult_cap(1);
  Build(cfg);
  Login("a", {{"sales", 1}});
  for (const char* id : {"d1", "d2"}) {
    pb::Contact c = MakeContact(id, "sales", pb::CHANNEL_CHAT);
    c.mutable_flags()->set_difficult(true);
    Arrive(c);
  }
  EXPECT_EQ(StateOf("d1"), pb::CONTACT_STATE_OFFERED);
  EXPECT_EQ(StateOf("d2"), pb::CONTACT_STATE_WAITING)
      << "room for a second chat, not a second difficult one";
}

}  // namespace
}  // namespace sb::engine::testing
