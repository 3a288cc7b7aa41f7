// The load generator's verification: repeats are dropped, contradictions, second connections and
// outputs after a contact was final count as duplicates, ineligible offers and offers beyond an
// agent's capacity are counted, a hang-up counts as abandoned only when the router confirmed it,
// the rest is lost.
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

// The router's refusal of a customer's event about `contact` (`event`: the RoutingEvent field),
// the input record at `offset`.
pb::ShardOutput Refusal(const std::string& contact, const std::string& event,
                        const std::string& code, int64_t offset) {
  pb::ShardOutput o = Out(contact, "", 0, pb::DECISION_REFUSED);
  o.set_output_id(o.output_id() + "#sb.contacts@" + std::to_string(offset));
  o.mutable_decision()->set_refused_event(event);
  o.mutable_decision()->set_refusal_code(code);
  o.mutable_decision()->set_input_topic("sb.contacts");
  o.mutable_decision()->set_input_offset(offset);
  return o;
}

// The customer of `contact` hangs up while it waits unoffered: the router withdraws the contact
// (DECISION_WITHDRAW, REASON_CUSTOMER_LEFT, no agent).
void HangUpConfirmed(Ledger& l, const std::string& contact, int64_t /*offset*/) {
  l.HungUp(contact);
  pb::ShardOutput left = Out(contact, "", 0, pb::DECISION_WITHDRAW);
  left.mutable_decision()->set_reason(pb::REASON_CUSTOMER_LEFT);
  l.Output(left, true, 0);
}

pb::CapacityModel DefaultCapacity() {  // the config loader's defaults
  pb::CapacityModel m;
  m.set_agent_units(100);
  for (auto [channel, units] : {std::pair{pb::CHANNEL_VOICE, 100u},
                                {pb::CHANNEL_CALLBACK, 100u},
                                {pb::CHANNEL_CHAT, 33u},
                                {pb::CHANNEL_EMAIL, 20u},
                                {pb::CHANNEL_TASK, 25u}}) {
    pb::ChannelCost* c = m.add_costs();
    c->set_channel(channel);
    c->set_units(units);
  }
  return m;
}

TEST(LedgerTest, CountsEveryOutcome) {
  Ledger l;
  for (const char* c : {"c1", "c2", "c3", "c4"}) l.Submitted(c, 100, true);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 110), Ledger::Seen::kNew);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 111), Ledger::Seen::kRepeat);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 120), Ledger::Seen::kNew);
  HangUpConfirmed(l, "c2", 7);
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
  EXPECT_EQ(v.over_capacity, 0u);
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
  HangUpConfirmed(l, "c1", 3);
  EXPECT_EQ(l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 1), Ledger::Seen::kConflict);
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
  HangUpConfirmed(l, "c2", 9);
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

TEST(LedgerTest, HangUpIsAbandonedOnlyWhenTheRouterConfirmsIt) {
  Ledger l;
  for (const char* c : {"waiting", "unanswered", "unknown", "offered", "expired"}) {
    l.Submitted(c, 0, true, pb::CHANNEL_VOICE);
  }
  // The router took the hang-up and said so.
  HangUpConfirmed(l, "waiting", 10);
  EXPECT_TRUE(l.IsFinal("waiting"));
  // Sent, and the router said nothing: not confirmed, so the run waits for it.
  l.HungUp("unanswered");
  EXPECT_TRUE(l.IsAbandoned("unanswered"));  // nobody takes it any more...
  EXPECT_FALSE(l.IsFinal("unanswered"));     // ... but it is not abandoned yet
  // The router no longer knew the contact when the hang-up came: it had lost it.
  l.HungUp("unknown");
  l.Output(Refusal("unknown", "contact_abandoned", "NOT_FOUND", 20), true, 1);
  EXPECT_FALSE(l.IsFinal("unknown"));
  // Offered while the customer hung up: the router withdrew the offer for it.
  l.Output(Out("offered", "a1", 1, pb::DECISION_OFFER), true, 3);
  l.HungUp("offered");
  pb::ShardOutput withdraw = Out("offered", "a1", 1, pb::DECISION_WITHDRAW);
  withdraw.mutable_decision()->set_reason(pb::REASON_OFFER_ABANDONED);
  l.Output(withdraw, true, 4);
  EXPECT_TRUE(l.IsFinal("offered"));
  // The router expired it (max wait) before the customer's hang-up came.
  l.Output(Out("expired", "", 0, pb::DECISION_EXPIRE), true, 5);
  l.HungUp("expired");
  l.Output(Refusal("expired", "contact_abandoned", "NOT_FOUND", 30), true, 6);
  EXPECT_FALSE(l.AllFinal());
  const Verdict v = l.Finish();
  EXPECT_EQ(v.abandoned, 3u);  // waiting, offered, expired
  EXPECT_EQ(v.lost, 2u);       // unanswered, unknown
  EXPECT_EQ(v.hangups_unconfirmed, 2u);
  EXPECT_EQ(v.duplicates, 0u);
  EXPECT_EQ(l.Counts().abandoned, 3u);
}

TEST(LedgerTest, OfferToAnAgentAlreadyOnAVoiceContactIsOverCapacity) {
  Ledger l;
  l.UseCapacity(DefaultCapacity());
  for (const char* c : {"c1", "c2", "c3"}) l.Submitted(c, 0, true, pb::CHANNEL_VOICE);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 1);
  l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 2);
  // A second voice contact while connected to the first: 200 units of 100.
  EXPECT_EQ(l.Output(Out("c2", "a1", 1, pb::DECISION_OFFER), true, 3), Ledger::Seen::kNew);
  EXPECT_EQ(l.Counts().over_capacity, 1u);
  // Once the agent wrapped the first up, the next voice contact fits.
  l.Output(Out("c2", "a1", 1, pb::DECISION_REQUEUE), true, 4);
  l.Released("a1", "c1", 1);
  l.Output(Out("c3", "a1", 1, pb::DECISION_OFFER), true, 5);
  EXPECT_EQ(l.Finish().over_capacity, 1u);
}

TEST(LedgerTest, WithoutACapacityModelAnAgentTakesOneVoiceContactAtATime) {
  Ledger l;
  for (const char* c : {"c1", "c2"}) l.Submitted(c, 0, true, pb::CHANNEL_VOICE);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 1);
  l.Output(Out("c2", "a1", 1, pb::DECISION_OFFER), true, 2);
  EXPECT_EQ(l.Finish().over_capacity, 1u);
}

TEST(LedgerTest, ChatsShareAnAgentUpToItsUnits) {
  Ledger l;
  l.UseCapacity(DefaultCapacity());
  for (const char* c : {"c1", "c2", "c3", "c4"}) l.Submitted(c, 0, true, pb::CHANNEL_CHAT);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 1);
  l.Output(Out("c2", "a1", 1, pb::DECISION_OFFER), true, 2);
  l.Output(Out("c3", "a1", 1, pb::DECISION_OFFER), true, 3);
  EXPECT_EQ(l.Counts().over_capacity, 0u);  // 99 of 100 units
  l.Output(Out("c4", "a1", 1, pb::DECISION_OFFER), true, 4);
  EXPECT_EQ(l.Counts().over_capacity, 1u);
}

TEST(LedgerTest, OutputsThatFreeTheAgentEndItsHold) {
  Ledger l;
  l.UseCapacity(DefaultCapacity());
  for (const char* c : {"c1", "c2", "c3", "c4", "c5"}) l.Submitted(c, 0, true, pb::CHANNEL_VOICE);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 1);
  pb::ShardOutput missed = Out("c1", "a1", 1, pb::DECISION_AGENT_STATE);
  missed.mutable_decision()->set_reason(pb::REASON_MISSED_OFFER);
  l.Output(missed, true, 2);
  l.Output(Out("c2", "a1", 1, pb::DECISION_OFFER), true, 3);
  l.Output(Out("c2", "a1", 1, pb::DECISION_WITHDRAW), true, 4);
  // A gRPC desk heard, talked and wrapped c3 up before the ledger read its offer.
  l.Released("a1", "c3", 1);
  l.Output(Out("c3", "a1", 1, pb::DECISION_OFFER), true, 5);
  l.Output(Out("c3", "a1", 1, pb::DECISION_CONNECTED), true, 6);
  l.Output(Out("c4", "a1", 1, pb::DECISION_OFFER), true, 7);
  l.Output(Out("c4", "a1", 1, pb::DECISION_CONNECTED), true, 8);
  l.Output(Out("c4", "a1", 1, pb::DECISION_TRANSFERRED), true, 9);
  l.Output(Out("c5", "a1", 1, pb::DECISION_OFFER), true, 10);
  EXPECT_EQ(l.Finish().over_capacity, 0u);
}

TEST(LedgerTest, OutputsAfterTheContactWasFinalAreDuplicates) {
  Ledger l;
  for (const char* c : {"c1", "c2", "c3"}) l.Submitted(c, 0, true);
  l.Output(Out("c1", "a1", 1, pb::DECISION_OFFER), true, 1);
  l.Output(Out("c1", "a1", 1, pb::DECISION_CONNECTED), true, 2);
  EXPECT_TRUE(l.IsFinal("c1"));
  // Seconds later, a zombie owner offers the connected contact again...
  EXPECT_EQ(l.Output(Out("c1", "a2", 2, pb::DECISION_OFFER), true, 3000), Ledger::Seen::kConflict);
  // ... or publishes its own version of an output already seen.
  pb::ShardOutput other = Out("c1", "a1", 1, pb::DECISION_CONNECTED);
  other.mutable_decision()->set_at_ms(99);
  EXPECT_EQ(l.Output(other, true, 3001), Ledger::Seen::kConflict);
  // A contact whose hang-up the router confirmed is offered again.
  HangUpConfirmed(l, "c2", 5);
  EXPECT_EQ(l.Output(Out("c2", "a2", 1, pb::DECISION_OFFER), true, 3002), Ledger::Seen::kConflict);
  // Not a duplicate: a connected contact requeued (its agent logged out) is offered again.
  l.Output(Out("c3", "a3", 1, pb::DECISION_OFFER), true, 4);
  l.Output(Out("c3", "a3", 1, pb::DECISION_CONNECTED), true, 5);
  l.Output(Out("c3", "a3", 1, pb::DECISION_REQUEUE), true, 6);
  EXPECT_EQ(l.Output(Out("c3", "a4", 2, pb::DECISION_OFFER), true, 7), Ledger::Seen::kNew);
  const Verdict v = l.Finish();
  EXPECT_EQ(v.duplicates, 3u);
  EXPECT_EQ(v.assigned, 2u);
  EXPECT_EQ(v.abandoned, 1u);
}

}  // namespace
}  // namespace sb::loadgen
