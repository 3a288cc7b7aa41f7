// Bullseye expansion: proficiency relaxes, skills drop, overflow to another queue.
#include "unit/engine/engine_fixture.h"

namespace sb::engine::testing {
namespace {

class BullseyeTest : public EngineTest {
 protected:
  void SetUp() override {
    pb::RoutingConfig cfg = BaseConfig();
    pb::QueueDef* support = FindQueue(cfg, "support");  // support >= 3
    auto* r = support->add_required_skills();
    r->set_skill("billing");
    r->set_min_proficiency(2);
    auto* s1 = support->add_bullseye();
    s1->set_after_s(30);
    s1->set_relax_proficiency(1);  // support >= 2, billing >= 1
    auto* s2 = support->add_bullseye();
    s2->set_after_s(60);
    s2->add_drop_skills("billing");  // support >= 2 only
    auto* s3 = support->add_bullseye();
    s3->set_after_s(90);
    s3->set_overflow_queue("sales");  // anyone with sales (relaxed)
    Build(cfg);
  }
};

TEST_F(BullseyeTest, RequirementRelaxesStepByStep) {
  Login("weak", {{"support", 2}, {"billing", 1}});
  Arrive("c1", "support");
  EXPECT_TRUE(OfType(Advance(29'999), pb::DECISION_OFFER).empty());
  Decision offer = OnlyOffer(Advance(1));
  EXPECT_EQ(offer.agent_id, "weak");
  EXPECT_EQ(offer.bullseye_step, 1u);
}

TEST_F(BullseyeTest, DroppedSkillWidensTheSet) {
  Login("no_billing", {{"support", 2}});
  Arrive("c1", "support");
  EXPECT_TRUE(OfType(Advance(59'999), pb::DECISION_OFFER).empty());
  EXPECT_EQ(OnlyOffer(Advance(1)).bullseye_step, 2u);
}

TEST_F(BullseyeTest, OverflowMovesToAnotherQueue) {
  Login("seller", {{"sales", 1}});
  Arrive("c1", "support");
  EXPECT_TRUE(OfType(Advance(89'999), pb::DECISION_OFFER).empty());
  auto d = Advance(1);
  auto overflow = OfType(d, pb::DECISION_OVERFLOW);
  ASSERT_EQ(overflow.size(), 1u);
  EXPECT_EQ(overflow[0].queue, "sales");
  Decision offer = OnlyOffer(d);
  EXPECT_EQ(offer.agent_id, "seller");
  EXPECT_EQ(offer.queue, "sales");
  EXPECT_EQ(Stats("support").overflowed_out(), 1u);
}

TEST_F(BullseyeTest, RequeuedContactResumesAtTheStepItsWaitEarned) {
  Login("strong", {{"support", 5}, {"billing", 5}});
  Arrive("c1", "support");  // offered at once
  Advance(10'000);          // offer times out: strong goes not-ready
  Login("weak", {{"support", 2}, {"billing", 1}}, /*ready=*/false);
  Advance(25'000);  // 35 s waited: step 1 is due
  Decision offer = OnlyOffer(Ready("weak"));
  EXPECT_EQ(offer.contact_id, "c1");
  EXPECT_EQ(offer.bullseye_step, 1u);
}

}  // namespace
}  // namespace sb::engine::testing
