// Agent selection strategies: longest-idle, least-occupied, best-skill, preferred agent.
#include "unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

TEST_F(EngineTest, LongestIdleAgentGetsTheContact) {
  Login("first", {{"sales", 1}});
  Advance(1000);
  Login("second", {{"sales", 1}});
  EXPECT_EQ(OnlyOffer(Arrive("c1", "sales")).agent_id, "first");
  EXPECT_EQ(OnlyOffer(Arrive("c2", "sales")).agent_id, "second");
  Accept("first", "c1");
  Accept("second", "c2");
  Advance(1000);
  End("c2");
  WrapUp("second");  // second is idle first now
  Advance(1000);
  End("c1");
  WrapUp("first");
  EXPECT_EQ(OnlyOffer(Arrive("c3", "sales")).agent_id, "second");
}

TEST_F(EngineTest, LeastOccupiedPrefersFewestUnitsInUse) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "sales")->set_strategy(pb::STRATEGY_LEAST_OCCUPIED);
  Build(cfg);
  Login("a", {{"sales", 1}});
  Login("b", {{"sales", 1}});
  EXPECT_EQ(OnlyOffer(Arrive("c1", "sales", pb::CHANNEL_CHAT)).agent_id, "a");
  EXPECT_EQ(OnlyOffer(Arrive("c2", "sales", pb::CHANNEL_CHAT)).agent_id, "b")
      << "a holds a chat, b holds none";
}

TEST_F(EngineTest, LeastOccupiedPrefersLowerOccupancySinceLogin) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "sales")->set_strategy(pb::STRATEGY_LEAST_OCCUPIED);
  FindQueue(cfg, "sales")->set_acw_limit_s(0);
  Build(cfg);
  Login("worked", {{"sales", 1}});
  Login("rested", {{"sales", 1}}, /*ready=*/false);
  Arrive("c1", "sales");
  Accept("worked", "c1");
  Advance(60'000);  // worked: 60 s busy
  End("c1");
  Ready("rested");  // rested: 0 s busy, idle more recently
  Advance(1000);
  EXPECT_EQ(OnlyOffer(Arrive("c2", "sales")).agent_id, "rested");
}

TEST_F(EngineTest, BestSkillPrefersHighestProficiencyThenLongestIdle) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "support")->set_strategy(pb::STRATEGY_BEST_SKILL);
  Build(cfg);
  Login("ok", {{"support", 3}});
  Login("expert", {{"support", 5}});
  Login("expert2", {{"support", 5}});
  EXPECT_EQ(OnlyOffer(Arrive("c1", "support")).agent_id, "expert");
  EXPECT_EQ(OnlyOffer(Arrive("c2", "support")).agent_id, "expert2");
  EXPECT_EQ(OnlyOffer(Arrive("c3", "support")).agent_id, "ok");
}

class PreferredAgentTest : public EngineTest {
 protected:
  void SetUp() override {
    pb::RoutingConfig cfg = BaseConfig();
    FindQueue(cfg, "sales")->set_strategy(pb::STRATEGY_PREFERRED_AGENT);
    FindQueue(cfg, "sales")->set_preferred_wait_s(60);
    Build(cfg);
  }
  pb::Contact ForAgent(const std::string& id, const std::string& agent) {
    pb::Contact c = MakeContact(id, "sales");
    c.set_preferred_agent(agent);
    return c;
  }
};

TEST_F(PreferredAgentTest, IdlePreferredAgentGetsItEvenIfNotLongestIdle) {
  Login("other", {{"sales", 1}});
  Advance(1000);
  Login("owner", {{"sales", 1}});
  Decision d = OnlyOffer(Arrive(ForAgent("c1", "owner")));
  EXPECT_EQ(d.agent_id, "owner");
  EXPECT_EQ(d.reason, pb::REASON_PREFERRED_AGENT_IDLE);
}

TEST_F(PreferredAgentTest, BusyPreferredAgentIsWaitedForAndGetsItWhenFree) {
  Login("owner", {{"sales", 1}});
  Arrive("busy", "sales");
  Accept("owner", "busy");
  Login("other", {{"sales", 1}});
  auto d = Arrive(ForAgent("c1", "owner"));
  EXPECT_TRUE(OfType(d, pb::DECISION_OFFER).empty()) << "waits for owner though other is idle";
  Advance(20'000);
  End("busy");
  Decision offer = OnlyOffer(WrapUp("owner"));
  EXPECT_EQ(offer.contact_id, "c1");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_BUSY_FREED);
}

TEST_F(PreferredAgentTest, WaitForBusyPreferredAgentEndsAtTheLimit) {
  Login("owner", {{"sales", 1}});
  Arrive("busy", "sales");
  Accept("owner", "busy");
  Login("other", {{"sales", 1}});
  Arrive(ForAgent("c1", "owner"));
  EXPECT_TRUE(OfType(Advance(59'999), pb::DECISION_OFFER).empty());
  Decision offer = OnlyOffer(Advance(1));
  EXPECT_EQ(offer.agent_id, "other");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_WAIT_LIMIT);
}

TEST_F(PreferredAgentTest, LoggedOutPreferredAgentMeansAnyoneAndSaysWhy) {
  Login("owner", {{"sales", 1}});
  Do([&](Decisions* o) { return engine_->AgentLogout("owner", o); });
  Login("other", {{"sales", 1}});
  Decision offer = OnlyOffer(Arrive(ForAgent("c1", "owner")));
  EXPECT_EQ(offer.agent_id, "other");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_LOGGED_OUT);
}

TEST_F(PreferredAgentTest, UnknownPreferredAgentMeansAnyone) {
  Login("other", {{"sales", 1}});
  Decision offer = OnlyOffer(Arrive(ForAgent("c1", "nobody")));
  EXPECT_EQ(offer.agent_id, "other");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_UNKNOWN);
}

TEST_F(PreferredAgentTest, PreferredAgentLoggingOutReleasesWaitingContacts) {
  Login("owner", {{"sales", 1}});
  Arrive("busy", "sales");
  Accept("owner", "busy");
  Login("other", {{"sales", 1}});
  Arrive(ForAgent("c1", "owner"));
  EXPECT_EQ(StateOf("c1"), pb::CONTACT_STATE_WAITING);
  auto d = Do([&](Decisions* o) { return engine_->AgentLogout("owner", o); });
  Decision offer = OnlyOffer(d);
  EXPECT_EQ(offer.contact_id, "c1");
  EXPECT_EQ(offer.agent_id, "other");
  EXPECT_EQ(offer.reason, pb::REASON_PREFERRED_AGENT_LOGGED_OUT);
  EXPECT_EQ(StateOf("busy"), pb::CONTACT_STATE_WAITING) << "the call it held is requeued";
}

}  // namespace
}  // namespace sb::engine::testing
