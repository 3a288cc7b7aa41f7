// The load generator's verification: repeats are dropped, contradictions and second connections
// count as duplicates, ineligible offers are counted, the rest is lost.
#include "tools/loadgen/ledger.h"

#include <gtest/gtest.h>

namespace sb::loadgen {
namespace {

pb::ShardOutput Out(const std::string& contact, const std::string& agent, uint32_t attempt,
                    pb::DecisionType type) {
  pb::ShardOutput o;
  o.set_output_id(contact + "#" + std::to_string(attempt) + "#" + pb::DecisionType_Name(type));
  o.mutable_decision()->set_type(type);
  o.mutable_decision()->set_contact_id(contact);
  o.mutable_decision()->set_agent_id(agent);
  o.mutable_decision()->set_attempt(attempt);
  return o;
}

TEST(LedgerTest, CountsEveryOutcome) {
  Ledger l;
  for (const char* c : {"c1", "c2", "c3", "c4"}) l.Submitted(c, 100, true);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 110), Ledger::Seen::kNew);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 111), Ledger::Seen::kRepeat);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 120), Ledger::Seen::kNew);
  l.Abandoned("c2");
  l.Output(Out("c3", "a2", 1, pb::DECISION_OFFER), /*eligible=*/false, 130);
  EXPECT_FALSE(l.AllFinal());
  Verdict v = l.Finish();
  EXPECT_EQ(v.submitted, 4u);
  EXPECT_EQ(v.assigned, 1u);
  EXPECT_EQ(v.abandoned, 1u);
  EXPECT_EQ(v.lost, 2u);
  EXPECT_EQ(v.ineligible, 1u);
  EXPECT_EQ(v.redelivered, 1u);
  EXPECT_EQ(v.duplicates, 0u);
  EXPECT_EQ(v.p50_ms, 30);  // c1 offered at 110 (10 ms), c3 at 130 (30 ms)
}

TEST(LedgerTest, SameIdWithOtherContentIsADuplicate) {
  Ledger l;
  l.Submitted("c1", 0, true);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 1);
  EXPECT_EQ(l.Output(Out("c1", "a2", 1, pb::DECISION_OFFER), true, 2), Ledger::Seen::kConflict);
  EXPECT_EQ(l.Finish().duplicates, 1u);
}

TEST(LedgerTest, SecondConnectionIsADuplicate) {
  Ledger l;
  l.Submitted("c1", 0, true);
  l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 1);
  EXPECT_EQ(l.Output(Out("c1", "a2", 2, pb::DECISION_CONNECTED), true, 2), Ledger::Seen::kConflict);
  EXPECT_TRUE(l.AllFinal());
  EXPECT_EQ(l.Finish().duplicates, 1u);
  EXPECT_EQ(l.Finish().assigned, 1u);
}

TEST(LedgerTest, TransferredContactConnectedAgainIsOneAssignment) {
  Ledger l;
  l.Submitted("c1", 0, true);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 1);
  l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 2);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_TRANSFERRED), true, 3), Ledger::Seen::kNew);
  l.Output(Out("c1", "a2", 2, pb::DECISION_OFFER), true, 4);
  EXPECT_EQ(l.Output(Out("c1", "a2", 2, pb::DECISION_CONNECTED), true, 5), Ledger::Seen::kNew);
  // ... and a repeat of that connection after a failover is a repeat, not a conflict.
  EXPECT_EQ(l.Output(Out("c1", "a2", 2, pb::DECISION_CONNECTED), true, 6), Ledger::Seen::kRepeat);
  // A refusal about the contact changes nothing.
  EXPECT_EQ(l.Output(Out("c1", "a3", 2, pb::DECISION_REFUSED), true, 7), Ledger::Seen::kNew);
  const Verdict v = l.Finish();
  EXPECT_EQ(v.assigned, 1u);
  EXPECT_EQ(v.duplicates, 0u);
  EXPECT_EQ(v.lost, 0u);
  EXPECT_EQ(v.offers, 2u);
}

TEST(LedgerTest, ConnectingAnAbandonedContactIsADuplicate) {
  Ledger l;
  l.Submitted("c1", 0, true);
  l.Abandoned("c1");
  l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 1);
  EXPECT_EQ(l.Finish().duplicates, 1u);
}

TEST(LedgerTest, LiveCountsAndRecentWaits) {
  Ledger l;
  for (const char* c : {"c1", "c2", "c3"}) l.Submitted(c, 100, true);
  l.Submitted("probe", 100, /*measured=*/false);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 104);
  l.Output(Out("probe", "a2", 1, pb::DECISION_OFFER), true, 105);
  EXPECT_EQ(l.TakeRecentWaits(), std::vector<int64_t>{4});  // measured contacts only
  EXPECT_TRUE(l.TakeRecentWaits().empty());                 // taken: not again
  l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 110);
  l.Abandoned("c2");
  Tally t = l.Counts();
  EXPECT_EQ(t.submitted, 4u);
  EXPECT_EQ(t.offered, 2u);
  EXPECT_EQ(t.assigned, 1u);
  EXPECT_EQ(t.abandoned, 1u);
  EXPECT_EQ(t.waiting, 1u);  // c3: neither offered nor final
  EXPECT_TRUE(l.IsFinal("c1"));
  EXPECT_TRUE(l.IsFinal("c2"));
  EXPECT_FALSE(l.IsFinal("c3"));
  EXPECT_FALSE(l.IsFinal("probe"));  // offered, not yet connected
}

}  // namespace
}  // namespace sb::loadgen
