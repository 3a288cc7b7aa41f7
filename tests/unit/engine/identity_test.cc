// One agent, one capacity across the cluster (Engine::ReserveIdentities): engines of two shards
// and the agent's home exchange the identity messages as the shards would carry them; a login is
// routed to only once its home granted it, and the home grants one shard at a time.
#include <deque>

#include "unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

// Every agent's home is shard 0 here; shards 0 and 1 both route domain "d1".
constexpr int32_t kHome = 0;

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int32_t p = 0; p < 2; ++p) shards_.push_back(NewShard(p, BaseConfig()));
  }

  std::unique_ptr<Engine> NewShard(int32_t partition, const pb::RoutingConfig& cfg) {
    auto e = Engine::Create(cfg, &clock_);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    (*e)->ReserveIdentities(partition);
    return std::move(*e);
  }

  Decisions LogIn(int32_t shard, const std::string& agent, const std::string& session) {
    Decisions out;
    Status st = shards_[shard]->AgentLogin(SalesAgent(agent), /*ready=*/true, &out, session);
    EXPECT_TRUE(st.ok()) << st.ToString();
    Collect(shard);
    return out;
  }
  Decisions LogOut(int32_t shard, const std::string& agent, const std::string& session) {
    Decisions out;
    Status st = shards_[shard]->AgentLogout(agent, &out, session);
    EXPECT_TRUE(st.ok()) << st.ToString();
    Collect(shard);
    return out;
  }
  Decisions Arrive(int32_t shard, const std::string& contact) {
    pb::Contact c;
    c.set_id(contact);
    c.set_queue("sales");
    c.set_channel(pb::CHANNEL_VOICE);
    Decisions out;
    Status st = shards_[shard]->ContactArrived(c, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // Moves shard `from`'s new messages into the in-flight list, addressed.
  void Collect(int32_t from) {
    std::vector<IdentityMessage> msgs;
    shards_[from]->TakeIdentityMessages(&msgs);
    for (IdentityMessage& m : msgs) {
      in_flight_.push_back({m.to_home ? kHome : m.to_partition, std::move(m.event)});
    }
  }
  // Delivers the oldest in-flight message; returns the decisions of its receiver.
  Decisions DeliverOne() {
    EXPECT_FALSE(in_flight_.empty());
    if (in_flight_.empty()) return {};
    auto [to, event] = std::move(in_flight_.front());
    in_flight_.pop_front();
    delivered_.push_back(event);
    Decisions out;
    Status st = shards_[to]->Apply(event, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    Collect(to);
    return out;
  }
  // Delivers until nothing is in flight; returns the decisions of shard `shard`.
  Decisions DeliverAll(int32_t shard) {
    Decisions of_shard;
    while (!in_flight_.empty()) {
      const int32_t to = in_flight_.front().first;
      Decisions out = DeliverOne();
      if (to == shard) of_shard.insert(of_shard.end(), out.begin(), out.end());
    }
    return of_shard;
  }

  pb::AgentState StateAt(int32_t shard, const std::string& agent) {
    auto v = shards_[shard]->GetAgent(agent);
    return v.ok() ? v->state : pb::AGENT_STATE_UNSPECIFIED;
  }

  ManualClock clock_{1'700'000'000'000};
  std::vector<std::unique_ptr<Engine>> shards_;
  std::deque<std::pair<int32_t, pb::RoutingEvent>> in_flight_;
  std::vector<pb::RoutingEvent> delivered_;
};

std::vector<Decision> OfType(const Decisions& d, pb::DecisionType type) {
  std::vector<Decision> out;
  for (const auto& x : d) {
    if (x.type == type) out.push_back(x);
  }
  return out;
}

TEST_F(IdentityTest, NothingIsRoutedToALoginBeforeItsHomeGrantsIt) {
  Arrive(1, "c1");
  EXPECT_TRUE(OfType(LogIn(1, "a1", "s1"), pb::DECISION_OFFER).empty());
  EXPECT_TRUE(OfType(Arrive(1, "c2"), pb::DECISION_OFFER).empty());
  ASSERT_EQ(in_flight_.size(), 1u);
  EXPECT_TRUE(in_flight_.front().second.has_identity_reserve());
  EXPECT_EQ(in_flight_.front().second.identity_reserve().from_partition(), 1);
  auto offers = OfType(DeliverAll(1), pb::DECISION_OFFER);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].contact_id, "c1");
  EXPECT_EQ(offers[0].agent_id, "a1");
}

TEST_F(IdentityTest, TwoLoginsOnTwoShardsAtOnceHoldTheAgentOnce) {
  Arrive(0, "c0");
  Arrive(1, "c1");
  LogIn(1, "a1", "s1");  // reserves first
  LogIn(0, "a1", "s2");
  Decisions at0;
  Decisions at1;
  while (!in_flight_.empty()) {
    const int32_t to = in_flight_.front().first;
    Decisions out = DeliverOne();
    (to == 0 ? at0 : at1).insert((to == 0 ? at0 : at1).end(), out.begin(), out.end());
  }
  EXPECT_EQ(OfType(at1, pb::DECISION_OFFER).size(), 1u);
  EXPECT_TRUE(OfType(at0, pb::DECISION_OFFER).empty());
  auto refused = OfType(at0, pb::DECISION_REFUSED);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].refused_event, "agent_login");
  EXPECT_EQ(refused[0].refusal_code, "FAILED_PRECONDITION");
  EXPECT_EQ(refused[0].session, "s2");
  EXPECT_NE(refused[0].detail.find("routing domain \"d1\" (shard 1)"), std::string::npos)
      << refused[0].detail;
  EXPECT_EQ(StateAt(0, "a1"), pb::AGENT_STATE_LOGGED_OUT);
  EXPECT_EQ(shards_[0]->logged_in_agents(), 0u);
}

TEST_F(IdentityTest, ALogoutFreesTheAgentForAnotherShard) {
  LogIn(1, "a1", "s1");
  DeliverAll(1);
  LogIn(0, "a1", "s2");
  DeliverAll(0);
  ASSERT_EQ(StateAt(0, "a1"), pb::AGENT_STATE_LOGGED_OUT);
  LogOut(1, "a1", "s1");
  ASSERT_EQ(in_flight_.size(), 1u);
  EXPECT_TRUE(in_flight_.front().second.has_identity_release());
  DeliverAll(1);
  Arrive(0, "c0");
  LogIn(0, "a1", "s3");
  EXPECT_EQ(OfType(DeliverAll(0), pb::DECISION_OFFER).size(), 1u);
}

TEST_F(IdentityTest, ALogoutBeforeTheGrantReleasesTheAgent) {
  LogIn(1, "a1", "s1");
  LogOut(1, "a1", "s1");  // reserve and release in flight, in that order
  DeliverAll(1);
  Arrive(0, "c0");
  LogIn(0, "a1", "s2");
  EXPECT_EQ(OfType(DeliverAll(0), pb::DECISION_OFFER).size(), 1u);
}

TEST_F(IdentityTest, ARepublishedReserveAfterItsReleaseDoesNotHoldTheAgent) {
  LogIn(1, "a1", "s1");
  DeliverAll(1);
  const pb::RoutingEvent reserve = delivered_.front();
  ASSERT_TRUE(reserve.has_identity_reserve());
  LogOut(1, "a1", "s1");
  DeliverAll(1);
  // A new owner of shard 1 re-publishes the outputs of a group not known to be acknowledged.
  in_flight_.push_back({kHome, reserve});
  DeliverAll(1);
  Arrive(0, "c0");
  LogIn(0, "a1", "s2");
  EXPECT_EQ(OfType(DeliverAll(0), pb::DECISION_OFFER).size(), 1u);
}

TEST_F(IdentityTest, ASessionMoveOnTheSameShardKeepsItsReservation) {
  LogIn(1, "a1", "s1");
  DeliverAll(1);
  LogIn(1, "a1", "s2");  // the desktop logged in again through another node
  EXPECT_TRUE(in_flight_.empty());
  LogOut(1, "a1", "s2");
  ASSERT_EQ(in_flight_.size(), 1u);
  EXPECT_TRUE(in_flight_.front().second.has_identity_release());
}

TEST_F(IdentityTest, ReservationsAndPendingLoginsSurviveARestore) {
  LogIn(1, "a1", "s1");
  DeliverAll(1);  // the home (shard 0) holds a1 for shard 1
  Arrive(0, "c0");
  LogIn(0, "a2", "s2");  // pending: its reserve is still in flight
  const pb::RoutingConfig cfg = BaseConfig();
  for (int32_t p = 0; p < 2; ++p) {
    auto restored = Engine::Restore(cfg, &clock_, shards_[p]->ExportState());
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    shards_[p] = std::move(*restored);
    shards_[p]->ReserveIdentities(p);
  }
  LogIn(0, "a1", "s3");
  Decisions at0 = DeliverAll(0);
  auto offers = OfType(at0, pb::DECISION_OFFER);
  ASSERT_EQ(offers.size(), 1u);  // a2, granted after the restore; a1 refused
  EXPECT_EQ(offers[0].agent_id, "a2");
  EXPECT_EQ(OfType(at0, pb::DECISION_REFUSED).size(), 1u);
  EXPECT_EQ(StateAt(0, "a1"), pb::AGENT_STATE_LOGGED_OUT);
}

TEST_F(IdentityTest, MessagesAreRefusedByAnEngineWithoutIdentities) {
  auto plain = Engine::Create(BaseConfig(), &clock_);
  ASSERT_TRUE(plain.ok());
  pb::RoutingEvent ev;
  ev.mutable_identity_reserve()->set_agent_id("a1");
  ev.mutable_identity_reserve()->set_reservation(1);
  Decisions out;
  EXPECT_EQ((*plain)->Apply(ev, &out).code(), Code::kFailedPrecondition);
  EXPECT_TRUE(out.empty());  // between shards: not answered
}

}  // namespace
}  // namespace sb::engine::testing
