// Queue order: emergency skips all, urgent before normal, external before internal, FIFO within a
// priority, and priority aging so nothing starves.
#include "unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

class QueueOrderTest : public EngineTest {
 protected:
  pb::Contact With(const std::string& id, pb::Priority p, pb::Origin o = pb::ORIGIN_EXTERNAL) {
    pb::Contact c = MakeContact(id, "sales");
    c.set_priority(p);
    c.set_origin(o);
    return c;
  }
  // Frees one agent at a time and returns the order contacts are offered in.
  std::vector<std::string> ServeAll(int n) {
    std::vector<std::string> order;
    for (int i = 0; i < n; ++i) {
      auto d = Ready("a");
      auto offers = OfType(d, pb::DECISION_OFFER);
      if (offers.empty()) break;
      order.push_back(offers[0].contact_id);
      Accept("a", offers[0].contact_id);
      End(offers[0].contact_id);
      NotReady("a");
      WrapUp("a");
    }
    return order;
  }
};

TEST_F(QueueOrderTest, PriorityClassesThenOldestFirst) {
  Login("a", {{"sales", 1}}, /*ready=*/false);
  Arrive(With("n1", pb::PRIORITY_NORMAL));
  Advance(10);
  Arrive(With("int1", pb::PRIORITY_NORMAL, pb::ORIGIN_INTERNAL));
  Advance(10);
  Arrive(With("u1", pb::PRIORITY_URGENT));
  Advance(10);
  Arrive(With("n2", pb::PRIORITY_NORMAL));
  Advance(10);
  Arrive(With("e1", pb::PRIORITY_EMERGENCY, pb::ORIGIN_INTERNAL));
  Advance(10);
  Arrive(With("u2", pb::PRIORITY_URGENT, pb::ORIGIN_INTERNAL));
  EXPECT_EQ(ServeAll(6), (std::vector<std::string>{"e1", "u1", "u2", "n1", "n2", "int1"}));
}

TEST_F(QueueOrderTest, AgingLetsAnOldNormalContactPassANewUrgentOne) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "sales")->set_priority_aging_s(30);  // one level (of 2 per class) = 30 s
  Build(cfg);
  Login("a", {{"sales", 1}}, /*ready=*/false);
  Arrive(With("old_normal", pb::PRIORITY_NORMAL));
  Advance(61'000);  // urgent is 2 levels above normal: after 60 s the old contact ranks higher
  Arrive(With("new_urgent", pb::PRIORITY_URGENT));
  EXPECT_EQ(ServeAll(2), (std::vector<std::string>{"old_normal", "new_urgent"}));
}

TEST_F(QueueOrderTest, WithoutEnoughAgingUrgentStillGoesFirst) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "sales")->set_priority_aging_s(30);
  Build(cfg);
  Login("a", {{"sales", 1}}, /*ready=*/false);
  Arrive(With("old_normal", pb::PRIORITY_NORMAL));
  Advance(59'000);
  Arrive(With("new_urgent", pb::PRIORITY_URGENT));
  EXPECT_EQ(ServeAll(2), (std::vector<std::string>{"new_urgent", "old_normal"}));
}

TEST_F(QueueOrderTest, EmergencyIsNeverOvertakenByAging) {
  pb::RoutingConfig cfg = BaseConfig();
  FindQueue(cfg, "sales")->set_priority_aging_s(1);
  Build(cfg);
  Login("a", {{"sales", 1}}, /*ready=*/false);
  Arrive(With("ancient", pb::PRIORITY_NORMAL));
  Advance(3'600'000);
  Arrive(With("emergency", pb::PRIORITY_EMERGENCY));
  EXPECT_EQ(ServeAll(2), (std::vector<std::string>{"emergency", "ancient"}));
}

TEST_F(QueueOrderTest, AgentServingTwoQueuesTakesTheHigherRankedContact) {
  Login("a", {{"sales", 1}, {"support", 5}}, /*ready=*/false);
  Arrive("s1", "sales");
  Advance(10);
  pb::Contact u = MakeContact("p1", "support");
  u.set_priority(pb::PRIORITY_URGENT);
  Arrive(u);
  EXPECT_EQ(ServeAll(2), (std::vector<std::string>{"p1", "s1"}));
}

}  // namespace
}  // namespace sb::engine::testing
